"""Accounts: registration, sign-in and its limits, guests, sessions, API tokens, administration."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.errors import (
    Conflict,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
)
from services.common.pb import account_pb2 as apb
from services.room.accounts.passwords import LoginLimiter, Passwords
from services.room.accounts.revocations import Revocations
from services.room.accounts.service import (
    GUESTS_NOT_ALLOWED,
    INVALID_CREDENTIALS,
    INVALID_LOGIN,
    AccountPolicy,
    Accounts,
)
from services.room.events import AccountDisabled
from services.room.store.sql.accounts import AccountRepository
from services.room.tests.conftest import FAST_HASHER, PASSWORD, FakeClock

pytestmark = pytest.mark.unit


async def stored_hash(accounts: Accounts, username: str) -> str | None:
    found = await accounts.repo.get_by_username(username)
    assert found is not None
    return found[1]


# --- registration ---------------------------------------------------------------------------------


async def test_register_hashes_with_argon2id_and_signs_in(accounts: Accounts) -> None:
    grant = await accounts.register("Alice", PASSWORD, "Alice A.")

    assert (grant.account.username, grant.account.name, grant.account.kind) == (
        "alice",
        "Alice A.",
        "user",
    )
    stored = await stored_hash(accounts, "alice")
    assert stored is not None and stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    # Only the SHA-256 of the session secret is stored.
    assert await accounts.repo.find_credential(hashlib.sha256(grant.secret.encode()).hexdigest())
    assert len(grant.secret) >= 43
    account, credential = await accounts.authenticate(grant.secret)
    assert (account.id, credential.id, credential.kind) == (
        grant.account.id,
        grant.credential.id,
        "session",
    )


async def test_default_hasher_is_argon2id() -> None:
    stored = await Passwords().hash(PASSWORD)
    assert stored.startswith("$argon2id$v=19$")


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("al", PASSWORD, "Username"),
        ("a" * 33, PASSWORD, "Username"),
        ("has space", PASSWORD, "Username"),
        ("émile", PASSWORD, "Username"),
        ("alice", "short", "Password"),
        ("alice", "x" * 257, "Password"),
    ],
)
async def test_register_validates(
    accounts: Accounts, username: str, password: str, message: str
) -> None:
    with pytest.raises(InvalidArgument, match=message):
        await accounts.register(username, password)


async def test_usernames_are_case_insensitive_and_unique(accounts: Accounts) -> None:
    await accounts.register("alice", PASSWORD)
    with pytest.raises(Conflict):
        await accounts.register("ALICE", PASSWORD)
    grant = await accounts.login("  Alice ", PASSWORD)
    assert grant.account.username == "alice"


# --- signing in -----------------------------------------------------------------------------------


async def test_login_failures_are_generic(accounts: Accounts) -> None:
    await accounts.register("alice", PASSWORD)
    await accounts.register("bob", PASSWORD)
    await accounts.disable_by_username("bob", True)

    for username, password in (
        ("alice", "wrong password"),
        ("nobody", PASSWORD),
        ("bob", PASSWORD),  # disabled
        ("x", PASSWORD),  # could not even be a username
        ("alice", PASSWORD + "x" * 300),
    ):
        with pytest.raises(Unauthenticated) as raised:
            await accounts.login(username, password)
        assert raised.value.message == INVALID_LOGIN


async def test_unknown_users_are_verified_against_a_dummy_hash(accounts: Accounts) -> None:
    calls: list[str] = []
    real_verify = FAST_HASHER.verify

    class Spy(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # type: ignore[override]
            calls.append(str(hash))
            return real_verify(hash, password)

    accounts.passwords = Passwords(Spy(time_cost=1, memory_cost=8, parallelism=1))
    with pytest.raises(Unauthenticated):
        await accounts.login("nobody", PASSWORD)
    assert len(calls) == 1 and calls[0].startswith("$argon2id$")


async def test_failed_logins_are_limited_per_account_and_reset_after_the_window(
    accounts: Accounts, clock: FakeClock
) -> None:
    await accounts.register("alice", PASSWORD)
    await accounts.register("bob", PASSWORD)
    for _ in range(3):  # the fixture's policy: 3 failures per 10 minutes
        with pytest.raises(Unauthenticated):
            await accounts.login("alice", "wrong password")
        clock.advance(minutes=1)

    with pytest.raises(ResourceExhausted, match=r"try again in 7 minutes"):
        await accounts.login("alice", PASSWORD)  # refused even with the right password
    with pytest.raises(ResourceExhausted):
        await accounts.login("ALICE", PASSWORD)
    assert (await accounts.login("bob", PASSWORD)).account.username == "bob"

    clock.advance(minutes=7)  # the first failure leaves the window
    assert (await accounts.login("alice", PASSWORD)).account.username == "alice"
    # A success clears the count.
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            await accounts.login("alice", "wrong password")
    assert await accounts.login("alice", PASSWORD)


async def test_the_failure_limit_holds_under_a_burst(accounts: Accounts) -> None:
    await accounts.register("alice", PASSWORD)

    results = await asyncio.gather(
        *(accounts.login("alice", f"guess {i}") for i in range(10)), return_exceptions=True
    )

    assert sum(isinstance(r, Unauthenticated) for r in results) == 3
    assert sum(isinstance(r, ResourceExhausted) for r in results) == 7


def test_login_limiter_memory_stays_bounded() -> None:
    now = [0.0]
    limiter = LoginLimiter(2, 60, clock=lambda: now[0])
    limiter.MAX_TRACKED = 10
    for i in range(25):
        limiter.failed(f"user{i}")
    assert len(limiter._failures) <= 10
    assert limiter.retry_after("never-failed") == 0 and "never-failed" not in limiter._failures


async def test_weaker_hashes_are_upgraded_on_login(accounts: Accounts) -> None:
    await accounts.register("alice", PASSWORD)
    accounts.passwords = Passwords(PasswordHasher(time_cost=2, memory_cost=16, parallelism=1))
    before = await stored_hash(accounts, "alice")

    await accounts.login("alice", PASSWORD)

    after = await stored_hash(accounts, "alice")
    assert after != before and after is not None and "m=16,t=2" in after
    assert await accounts.login("alice", PASSWORD)


# --- sessions -------------------------------------------------------------------------------------


async def test_sessions_expire(accounts: Accounts, clock: FakeClock) -> None:
    grant = await accounts.register("alice", PASSWORD)
    assert grant.credential.expires_at == clock.now + accounts.policy.session_ttl

    clock.advance(days=30)
    with pytest.raises(Unauthenticated) as raised:
        await accounts.authenticate(grant.secret)
    assert raised.value.message == INVALID_CREDENTIALS


@pytest.mark.parametrize("token", ["", "not-a-token", "chm_" + "A" * 43, "x" * 10_000])
async def test_unknown_and_malformed_credentials_fail_alike(accounts: Accounts, token: str) -> None:
    with pytest.raises(Unauthenticated) as raised:
        await accounts.authenticate(token)
    assert raised.value.message == INVALID_CREDENTIALS


async def test_logout_ends_only_that_session_and_is_announced(accounts: Accounts) -> None:
    first = await accounts.register("alice", PASSWORD)
    second = await accounts.login("alice", PASSWORD)
    watch = accounts.revocations.watch()

    await accounts.logout(first.secret)
    await accounts.logout(first.secret)  # again: nothing to end
    await accounts.logout("unknown")

    with pytest.raises(Unauthenticated):
        await accounts.authenticate(first.secret)
    assert await accounts.authenticate(second.secret)
    assert await anext(watch) == apb.Revocation(credential_id=first.credential.id)
    assert watch.queue.empty()


# --- guests ---------------------------------------------------------------------------------------


async def test_guests(accounts: Accounts) -> None:
    grant = await accounts.create_guest("  Visitor ")

    assert (grant.account.kind, grant.account.name, grant.account.username) == (
        "guest",
        "Visitor",
        None,
    )
    assert (await accounts.authenticate(grant.secret))[0].kind == "guest"
    with pytest.raises(PermissionDenied, match="Guests cannot create API tokens"):
        await accounts.create_token(grant.account.id, "ci", 0)
    with pytest.raises(InvalidArgument):
        await accounts.create_guest("   ")


async def test_guests_can_be_switched_off(engine: AsyncEngine, clock: FakeClock) -> None:
    accounts = Accounts(
        AccountRepository(engine),
        policy=AccountPolicy(allow_guests=False),
        passwords=Passwords(FAST_HASHER),
        clock=clock,
    )
    with pytest.raises(PermissionDenied) as raised:
        await accounts.create_guest("Visitor")
    assert raised.value.message == GUESTS_NOT_ALLOWED


# --- API tokens -----------------------------------------------------------------------------------


async def test_api_tokens(accounts: Accounts, clock: FakeClock) -> None:
    alice = (await accounts.register("alice", PASSWORD)).account
    bob = (await accounts.register("bob", PASSWORD)).account

    token, secret = await accounts.create_token(alice.id, " ci ", 30)
    forever, forever_secret = await accounts.create_token(alice.id, "laptop", 0)

    assert secret.startswith("chm_") and len(secret) > 40
    assert (token.name, token.expires_at) == ("ci", clock.now + timedelta(days=30))
    assert forever.expires_at is None
    assert [t.id for t in await accounts.list_tokens(alice.id)] == [token.id, forever.id]
    assert await accounts.list_tokens(bob.id) == []
    account, credential = await accounts.authenticate(secret)
    assert (account.id, credential.kind) == (alice.id, "api_token")

    # Not someone else's, and not twice.
    with pytest.raises(NotFound):
        await accounts.revoke_token(bob.id, token.id)
    watch = accounts.revocations.watch()
    await accounts.revoke_token(alice.id, token.id)
    assert await anext(watch) == apb.Revocation(credential_id=token.id)
    with pytest.raises(NotFound):
        await accounts.revoke_token(alice.id, token.id)
    with pytest.raises(Unauthenticated):
        await accounts.authenticate(secret)

    clock.advance(days=3650)
    assert await accounts.authenticate(forever_secret)


async def test_api_tokens_expire(accounts: Accounts, clock: FakeClock) -> None:
    alice = (await accounts.register("alice", PASSWORD)).account
    _, secret = await accounts.create_token(alice.id, "ci", 1)

    clock.advance(hours=23)
    assert await accounts.authenticate(secret)
    clock.advance(hours=1)
    with pytest.raises(Unauthenticated):
        await accounts.authenticate(secret)
    assert await accounts.list_tokens(alice.id) == []  # an expired token found is deleted


@pytest.mark.parametrize(
    ("name", "days", "message"),
    [
        ("", 0, "Token name"),
        ("x" * 65, 0, "Token name"),
        ("ci", -1, "expires_in_days"),
        ("ci", 3651, "expires_in_days"),
    ],
)
async def test_api_token_validation(accounts: Accounts, name: str, days: int, message: str) -> None:
    alice = (await accounts.register("alice", PASSWORD)).account
    with pytest.raises(InvalidArgument, match=message):
        await accounts.create_token(alice.id, name, days)


async def test_token_last_used_is_written_at_most_once_a_minute(
    accounts: Accounts, clock: FakeClock
) -> None:
    alice = (await accounts.register("alice", PASSWORD)).account
    token, secret = await accounts.create_token(alice.id, "ci", 0)
    assert token.last_used_at is None

    first_use = clock.now
    await accounts.authenticate(secret)
    clock.advance(seconds=30)
    await accounts.authenticate(secret)
    [listed] = await accounts.list_tokens(alice.id)
    assert listed.last_used_at == first_use

    clock.advance(seconds=30)
    await accounts.authenticate(secret)
    [listed] = await accounts.list_tokens(alice.id)
    assert listed.last_used_at == clock.now


# --- administration -------------------------------------------------------------------------------


async def test_admins_list_and_disable_accounts(accounts: Accounts) -> None:
    admin, _ = await accounts.make_admin("root", PASSWORD)
    alice = await accounts.register("alice", PASSWORD)
    _, token_secret = await accounts.create_token(alice.account.id, "ci", 0)
    disabled_seen: list[str] = []
    accounts.events.subscribe(AccountDisabled, lambda event: disabled_seen.append(event.account_id))

    with pytest.raises(PermissionDenied):
        await accounts.list_accounts(alice.account.id, 0)
    with pytest.raises(PermissionDenied):
        await accounts.set_disabled(alice.account.id, admin.id, True)
    with pytest.raises(FailedPrecondition):
        await accounts.set_disabled(admin.id, admin.id, True)
    with pytest.raises(NotFound):
        await accounts.set_disabled(admin.id, "missing", True)
    assert [a.username for a in await accounts.list_accounts(admin.id, 0)] == ["alice", "root"]

    watch = accounts.revocations.watch()
    changed = await accounts.set_disabled(admin.id, alice.account.id, True)

    assert changed.disabled and disabled_seen == [alice.account.id]
    assert await anext(watch) == apb.Revocation(account_id=alice.account.id)
    for secret in (alice.secret, token_secret):
        with pytest.raises(Unauthenticated):
            await accounts.authenticate(secret)
    assert await accounts.actor(alice.account.id) is None
    with pytest.raises(Unauthenticated):
        await accounts.create_token(alice.account.id, "x", 0)

    await accounts.set_disabled(admin.id, alice.account.id, False)
    assert await accounts.authenticate(token_secret)  # API tokens work again; sessions ended
    with pytest.raises(Unauthenticated):
        await accounts.authenticate(alice.secret)


async def test_make_admin_creates_or_promotes(accounts: Accounts) -> None:
    created, was_created = await accounts.make_admin("Root", PASSWORD)
    assert was_created and created.admin and created.username == "root"
    assert (await accounts.login("root", PASSWORD)).account.admin

    await accounts.register("alice", PASSWORD)
    promoted, was_created = await accounts.make_admin("alice", None)
    assert promoted.admin and not was_created
    with pytest.raises(InvalidArgument):
        await accounts.make_admin("newbie", None)


async def test_reset_password_ends_sessions(accounts: Accounts) -> None:
    grant = await accounts.register("alice", PASSWORD)
    watch = accounts.revocations.watch()

    await accounts.reset_password("ALICE", "a new password")

    assert await anext(watch) == apb.Revocation(credential_id=grant.credential.id)
    with pytest.raises(Unauthenticated):
        await accounts.authenticate(grant.secret)
    with pytest.raises(Unauthenticated):
        await accounts.login("alice", PASSWORD)
    assert await accounts.login("alice", "a new password")
    with pytest.raises(NotFound):
        await accounts.reset_password("nobody", "a new password")


# --- revocation broadcast -------------------------------------------------------------------------


async def test_revocations_reach_every_watcher_and_end_on_close() -> None:
    revocations = Revocations()
    first, second = revocations.watch(), revocations.watch()
    revocations.credential("c1")
    revocations.account("a1")

    assert [await anext(first), await anext(first)] == [
        apb.Revocation(credential_id="c1"),
        apb.Revocation(account_id="a1"),
    ]
    assert await anext(second) == apb.Revocation(credential_id="c1")

    async def drain(watch) -> list:  # type: ignore[no-untyped-def,type-arg]
        return [r async for r in watch]

    pending = asyncio.create_task(drain(first))
    await asyncio.sleep(0)
    revocations.close()
    async with asyncio.timeout(5):
        assert await pending == []
        assert await drain(second) == [apb.Revocation(account_id="a1")]
        assert await drain(revocations.watch()) == []  # watching after close ends at once
    assert revocations.watchers == 0


async def test_a_watcher_that_stops_reading_is_cut() -> None:
    revocations = Revocations(max_queued=2)
    slow = revocations.watch()
    for i in range(3):
        revocations.credential(str(i))
    assert revocations.watchers == 0
    async with asyncio.timeout(5):
        assert [r.credential_id async for r in slow] == ["0", "1"]
