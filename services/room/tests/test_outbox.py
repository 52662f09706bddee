"""`chimera admin` writes revocations to the outbox; the room service publishes each row once."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from services.cli.main import main
from services.common.clock import utcnow
from services.common.pb import account_pb2 as apb
from services.room.accounts.outbox import OutboxRelay
from services.room.accounts.passwords import Passwords
from services.room.accounts.revocations import Revocations, Watch
from services.room.accounts.service import Accounts
from services.room.events import AccountDisabled, RoomEvents
from services.room.store.sql.accounts import AccountRepository
from services.room.store.sql.models import RevocationOutbox
from services.room.store.sql.outbox import OutboxRepository
from services.room.tests.conftest import FAST_HASHER, PASSWORD

pytestmark = pytest.mark.unit

WAIT_S = 20.0

Admin = Callable[..., Awaitable[None]]


@pytest.fixture
def admin(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Admin:
    """Run `chimera admin ...` (its own event loop, in a thread) against the test database."""
    monkeypatch.setenv("CHIMERA_DATABASE_URL", database_url)
    monkeypatch.setenv("CHIMERA_DATA_DIR", str(tmp_path / "data"))

    async def run(*argv: str, stdin: str = "") -> None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        with pytest.raises(SystemExit) as exited:
            await asyncio.to_thread(main, ["admin", *argv])
        assert exited.value.code in (0, None)

    return run


@pytest.fixture
def disabled() -> list[str]:
    """Accounts whose room sessions were dropped (their AccountDisabled events)."""
    return []


@pytest.fixture
def accounts(engine: AsyncEngine, disabled: list[str]) -> Accounts:
    events = RoomEvents()
    events.subscribe(AccountDisabled, lambda event: disabled.append(event.account_id))
    return Accounts(
        AccountRepository(engine),
        Revocations(),
        passwords=Passwords(FAST_HASHER),
        events=events,
    )


@pytest.fixture
def relay(engine: AsyncEngine, accounts: Accounts) -> OutboxRelay:
    return OutboxRelay(OutboxRepository(engine), accounts, interval_s=0.05)


def received(watch: Watch) -> list[apb.Revocation]:
    """What `watch` has queued so far."""
    items = []
    while not watch.queue.empty():
        item = watch.queue.get_nowait()
        assert isinstance(item, apb.Revocation)
        items.append(item)
    return items


async def test_disable_and_reset_password_are_published_once(
    admin: Admin, accounts: Accounts, relay: OutboxRelay, disabled: list[str]
) -> None:
    alice = await accounts.register("alice", PASSWORD)
    alice_again = await accounts.login("alice", PASSWORD)
    bob = await accounts.register("bob", PASSWORD)
    await admin("reset-password", "--username", "bob", "--password-stdin", stdin="new password\n")
    await relay.skip_existing()  # bob's reset came before this room service started
    bob_again = await accounts.login("bob", "new password")
    watch = accounts.revocations.watch()

    await admin("disable", "--username", "alice")
    assert await relay.poll() == 3
    assert {(r.account_id, r.credential_id) for r in received(watch)} == {
        (alice.account.id, ""),
        ("", alice.credential.id),
        ("", alice_again.credential.id),
    }
    assert disabled == [alice.account.id]

    await admin("reset-password", "--username", "bob", "--password-stdin", stdin="third one!\n")
    assert await relay.poll() == 1
    assert received(watch) == [apb.Revocation(credential_id=bob_again.credential.id)]
    assert bob.credential.id != bob_again.credential.id

    assert await relay.poll() == 0
    assert received(watch) == [] and disabled == [alice.account.id]


async def test_running_relay_publishes_without_being_asked(
    admin: Admin, accounts: Accounts, relay: OutboxRelay, disabled: list[str]
) -> None:
    alice = await accounts.register("alice", PASSWORD)
    watch = accounts.revocations.watch()
    await relay.start()
    try:
        await admin("disable", "--username", "alice")
        async with asyncio.timeout(WAIT_S):
            async for revocation in watch:
                if revocation.account_id == alice.account.id:
                    break
        assert disabled == [alice.account.id]
    finally:
        await relay.close()


async def test_a_lower_id_committed_late_is_still_published(
    engine: AsyncEngine, accounts: Accounts, relay: OutboxRelay
) -> None:
    async def write(row_id: int, credential_id: str) -> None:
        async with engine.begin() as connection:
            await connection.execute(
                insert(RevocationOutbox).values(
                    id=row_id, credential_id=credential_id, created_at=utcnow()
                )
            )

    await relay.skip_existing()
    watch = accounts.revocations.watch()
    await write(5, "five")
    assert await relay.poll() == 1
    await write(3, "three")  # a transaction that took its id earlier but committed later
    assert await relay.poll() == 1
    assert await relay.poll() == 0
    assert [r.credential_id for r in received(watch)] == ["five", "three"]


async def test_prune_deletes_only_old_rows(engine: AsyncEngine) -> None:
    repo = OutboxRepository(engine)
    async with engine.begin() as connection:
        await connection.execute(
            insert(RevocationOutbox).values(account_id="a", created_at=utcnow())
        )
    assert await repo.prune(utcnow().replace(year=2000)) == 0
    assert await repo.prune(utcnow()) == 1
    assert await repo.last_id() == 0
