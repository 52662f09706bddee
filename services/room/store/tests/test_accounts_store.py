"""AccountRepository: accounts and credentials, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.errors import Conflict
from services.room.store.sql.accounts import AccountRepository
from services.room.store.sql.models import utcnow
from services.room.store.sql.repository import RoomRepository


@pytest.fixture
def repo(engine: AsyncEngine) -> AccountRepository:
    return AccountRepository(engine)


async def test_account_round_trip_and_unique_username(repo: AccountRepository) -> None:
    alice = await repo.create_account(
        username="alice", name="Alice", kind="user", password_hash="$argon2id$x"
    )

    assert await repo.get_account(alice.id) == alice
    assert (alice.kind, alice.admin, alice.disabled) == ("user", False, False)
    assert await repo.get_by_username("alice") == (alice, "$argon2id$x")
    assert await repo.get_by_username("bob") is None
    with pytest.raises(Conflict, match="taken"):
        await repo.create_account(username="alice", name="Other", kind="user")


async def test_guests_have_no_username_and_never_collide(repo: AccountRepository) -> None:
    first = await repo.create_account(username=None, name="Guest", kind="guest")
    second = await repo.create_account(username=None, name="Guest", kind="guest")

    assert first.id != second.id and first.username is None
    assert [a.id for a in await repo.list_accounts(10)] == [second.id, first.id]


async def test_update_account(repo: AccountRepository) -> None:
    alice = await repo.create_account(username="alice", name="Alice", kind="user")

    changed = await repo.update_account(alice.id, admin=True, disabled=True, password_hash="h2")

    assert changed is not None and (changed.admin, changed.disabled) == (True, True)
    assert await repo.get_by_username("alice") == (changed, "h2")
    assert await repo.update_account("missing", admin=True) is None


async def test_credentials_found_by_hash_touched_and_deleted(repo: AccountRepository) -> None:
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


async def test_delete_credentials_of_a_kind_and_expired(repo: AccountRepository) -> None:
    alice = await repo.create_account(username="alice", name="Alice", kind="user")
    now = utcnow()
    one = await repo.add_credential(alice.id, "session", "1" * 64)
    await repo.add_credential(alice.id, "api_token", "2" * 64, name="t")
    await repo.add_credential(alice.id, "api_token", "3" * 64, name="old", expires_at=now)

    assert await repo.delete_credentials(alice.id, "session") == [one.id]
    assert await repo.delete_expired(now + timedelta(seconds=1)) == 1
    assert [c.name for c in await repo.list_credentials(alice.id, "api_token")] == ["t"]


async def test_repositories_on_one_sqlite_engine_share_its_writer_lock(engine: AsyncEngine) -> None:
    accounts, rooms = AccountRepository(engine), RoomRepository(engine)
    assert accounts._write_lock is rooms._write_lock
    if engine.dialect.name == "sqlite":
        assert accounts._write_lock is not None
