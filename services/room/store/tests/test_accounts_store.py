"""The AccountStore contract: accounts and credentials, on every store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from services.common.clock import utcnow
from services.common.errors import Conflict
from services.room.store.protocol import AccountStore
from services.room.store.registry import Store, UnknownStore, default_url, open_store, scheme

pytestmark = pytest.mark.unit


@pytest.fixture
def repo(store: Store) -> AccountStore:
    return store.accounts


async def test_account_round_trip_and_unique_username(repo: AccountStore) -> None:
    alice = await repo.create_account(
        username="alice", name="Alice", kind="user", password_hash="$argon2id$x"
    )

    assert await repo.get_account(alice.id) == alice
    assert (alice.kind, alice.admin, alice.disabled) == ("user", False, False)
    assert await repo.get_by_username("alice") == (alice, "$argon2id$x")
    assert await repo.get_by_username("bob") is None
    with pytest.raises(Conflict, match="taken"):
        await repo.create_account(username="alice", name="Other", kind="user")


async def test_guests_have_no_username_and_never_collide(repo: AccountStore) -> None:
    first = await repo.create_account(username=None, name="Guest", kind="guest")
    second = await repo.create_account(username=None, name="Guest", kind="guest")

    assert first.id != second.id and first.username is None
    assert [a.id for a in await repo.list_accounts(10)] == [second.id, first.id]


async def test_update_account(repo: AccountStore) -> None:
    alice = await repo.create_account(username="alice", name="Alice", kind="user")

    changed = await repo.update_account(alice.id, admin=True, disabled=True, password_hash="h2")

    assert changed is not None and (changed.admin, changed.disabled) == (True, True)
    assert await repo.get_by_username("alice") == (changed, "h2")
    assert await repo.update_account("missing", admin=True) is None


async def test_credentials_found_by_hash_touched_and_deleted(repo: AccountStore) -> None:
    alice = await repo.create_account(username="alice", name="Alice", kind="user")
    expires = utcnow() + timedelta(days=1)
    session = await repo.add_credential(alice.id, "session", "a" * 64, expires_at=expires)
    token = await repo.add_credential(alice.id, "api_token", "b" * 64, name="ci")

    assert await repo.find_credential("a" * 64) == (session, alice)
    assert await repo.find_credential("c" * 64) is None
    assert session.expires_at == expires and token.expires_at is None
    assert await repo.list_credentials(alice.id, "api_token") == [token]
    assert await repo.count_credentials(alice.id, "api_token") == 1

    now = utcnow()
    await repo.touch_credential(token.id, now)
    found = await repo.find_credential("b" * 64)
    assert found is not None and found[0].last_used_at == now

    # Deleting checks the kind and, when given, the owner.
    assert await repo.delete_credential(kind="session", credential_id=token.id) is None
    assert (
        await repo.delete_credential(kind="api_token", credential_id=token.id, account_id="x")
        is None
    )
    deleted = await repo.delete_credential(kind="api_token", credential_id=token.id)
    assert deleted is not None and deleted.id == token.id
    assert await repo.delete_credential(kind="session", token_hash="a" * 64) == session
    assert await repo.find_credential("a" * 64) is None


async def test_delete_credentials_of_a_kind_and_expired(repo: AccountStore) -> None:
    alice = await repo.create_account(username="alice", name="Alice", kind="user")
    now = utcnow()
    one = await repo.add_credential(alice.id, "session", "1" * 64)
    await repo.add_credential(alice.id, "api_token", "2" * 64, name="t")
    await repo.add_credential(alice.id, "api_token", "3" * 64, name="old", expires_at=now)

    assert await repo.delete_credentials(alice.id, "session") == [one.id]
    assert await repo.delete_expired(now + timedelta(seconds=1)) == 1
    assert [c.name for c in await repo.list_credentials(alice.id, "api_token")] == ["t"]


async def test_a_url_naming_no_store_is_refused_with_the_setting_to_fix(tmp_path: Path) -> None:
    with pytest.raises(UnknownStore, match=r"CHIMERA_DATABASE_URL.*'mysql'"):
        await open_store("mysql+aiomysql://db/chimera")
    assert scheme(default_url(tmp_path)) == "sqlite"
