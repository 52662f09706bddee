"""RoomRepository and the migrations, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, column, event, func, insert, inspect, select, table, text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.errors import InvalidArgument, NotFound
from services.room.store.records import AuthorRecord, MessageRecord, PersonaRecord, RoomRecord
from services.room.store.registry import default_url
from services.room.store.sql import database as database_module
from services.room.store.sql.accounts import AccountRepository
from services.room.store.sql.database import alembic_config, create_engine, migrate
from services.room.store.sql.models import Base, Message, UTCDateTime
from services.room.store.sql.repository import RoomRepository
from tests.support.databases import (
    PostgresUnavailable,
    create_postgres_database,
    disconnect_sessions,
    drop_postgres_database,
    skip_or_fail,
)

pytestmark = pytest.mark.unit

ALICE = AuthorRecord(id="user-alice", name="Alice", kind="human")
BOB = AuthorRecord(id="user-bob", name="Bob", kind="human")
MISSING_ROOM = "00000000-0000-0000-0000-000000000000"
SCRIBE = PersonaRecord(
    handle="scribe",
    name="Scribe",
    model="qwen-local",
    system_prompt="You take notes.",
    temperature=0.7,
    max_tokens=256,
)


@pytest.fixture
def repo(engine: AsyncEngine) -> RoomRepository:
    return RoomRepository(engine)


async def post(
    repo: RoomRepository,
    room_id: str,
    content: str = "hello",
    *,
    author: AuthorRecord = ALICE,
    client_msg_id: str | None = None,
    reply_to: str | None = None,
) -> tuple[MessageRecord, bool]:
    posted = await repo.post_message(
        room_id, author, content, client_msg_id=client_msg_id, reply_to=reply_to
    )
    return posted.message, posted.duplicate


async def fill(repo: RoomRepository, room_id: str, count: int) -> list[MessageRecord]:
    return [(await post(repo, room_id, f"m{i}"))[0] for i in range(1, count + 1)]


async def message_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(Message))).scalar_one()


def seqs(messages: list[MessageRecord]) -> list[int]:
    return [message.seq for message in messages]


# --- engines ------------------------------------------------------------------------------------


async def test_sqlite_engine_is_durable_and_waits_for_locks(tmp_path: Path) -> None:
    engine = create_engine(default_url(tmp_path / "data"))
    try:
        async with engine.connect() as conn:
            settings = [
                (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar_one()
                for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
            ]
    finally:
        await engine.dispose()
    assert settings == ["wal", 2, 5000, 1]  # synchronous 2 is FULL
    assert (tmp_path / "data" / "chimera.db").is_file()


async def test_sqlite_posts_commit_on_one_writer_thread_that_dispose_ends(
    tmp_path: Path,
) -> None:
    engine = create_engine(default_url(tmp_path))
    before = set(threading.enumerate())
    try:
        await migrate(engine)
        repo = RoomRepository(engine)
        room = await repo.create_room("General", "user-alice")
        posted = [(await post(repo, room.id, f"m{i}"))[0] for i in range(5)]
        writers = [
            thread
            for thread in set(threading.enumerate()) - before
            if thread.name.startswith("chimera-sqlite-writer")
        ]
        assert len(writers) == 1
    finally:
        await engine.dispose()
    await asyncio.to_thread(writers[0].join, 10)
    assert not writers[0].is_alive()
    # What it committed is in the file, for a new engine (a restarted service) to read.
    reopened = create_engine(default_url(tmp_path))
    try:
        history, _ = await RoomRepository(reopened).load_history(
            room.id, before=None, after=None, limit=10
        )
    finally:
        await reopened.dispose()
    assert history == posted


@pytest.mark.postgres
async def test_postgres_connections_the_server_ended_are_replaced_unseen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    try:
        url = await create_postgres_database()
    except PostgresUnavailable as error:
        skip_or_fail(error)
    engine = create_engine(url)
    try:
        await migrate(engine)
        repo = RoomRepository(engine)
        room = await repo.create_room("General", "user-alice")
        await post(repo, room.id, "before")
        assert await disconnect_sessions(url) >= 1  # the pool's idle connection
        # Every checkout pings now; the ended connection fails it and a new one takes its place
        # (left to the default, it is replaced once the client has seen the server close it).
        monkeypatch.setattr(database_module, "PING_AFTER_IDLE_S", -1.0)
        after, _ = await post(repo, room.id, "after")
        assert after.seq == 2
    finally:
        await engine.dispose()
        await drop_postgres_database(url)


def test_urls_get_async_drivers_and_unknown_databases_are_refused() -> None:
    assert create_engine("postgresql://postgres@127.0.0.1/chimera").dialect.driver == "asyncpg"
    assert create_engine("sqlite:///chimera.db").dialect.driver == "aiosqlite"
    with pytest.raises(ValueError, match="Unsupported database 'mysql'"):
        create_engine("mysql://root@127.0.0.1/chimera")


# --- migrations ---------------------------------------------------------------------------------


def _schema_diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, Base.metadata))


async def test_migrations_apply_to_empty_database_and_rerun_as_noop(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        room = await RoomRepository(engine).create_room("kept", "user-alice")
        await migrate(engine)
        async with engine.connect() as conn:
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
            diff = await conn.run_sync(_schema_diff)
        assert version == [(ScriptDirectory.from_config(alembic_config()).get_current_head(),)]
        assert diff == []
        assert (await RoomRepository(engine).get_room(room.id)).name == "kept"
    finally:
        await engine.dispose()


def _alembic(action: Callable[[Config, str], None], revision: str) -> Callable[[Connection], None]:
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        action(config, revision)

    return run


async def test_downgrade_to_base_and_upgrade_again(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_alembic(command.downgrade, "base"))
    await migrate(engine)
    async with engine.connect() as conn:
        assert await conn.run_sync(_schema_diff) == []


# The tables as revision 0001 created them, so the test does not depend on today's models.
ROOMS_0001 = table(
    "rooms",
    column("id"),
    column("name"),
    column("created_by"),
    column("created_at", UTCDateTime),
    column("updated_at", UTCDateTime),
    column("last_seq"),
)
MESSAGES_0001 = table(
    "messages",
    column("id"),
    column("room_id"),
    column("seq"),
    column("author_id"),
    column("author_name"),
    column("author_kind"),
    column("content"),
    column("reply_to"),
    column("status"),
    column("client_msg_id"),
    column("created_at", UTCDateTime),
)


async def test_upgrade_from_0001_keeps_rooms_and_messages(database_url: str) -> None:
    room_id, first_id, second_id = (f"0000000{i}-0000-0000-0000-000000000000" for i in (1, 2, 3))
    stamp = datetime(2025, 11, 20, 12, 30, tzinfo=UTC)
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_alembic(command.upgrade, "0001"))
            await conn.execute(
                insert(ROOMS_0001).values(
                    id=room_id,
                    name="Before personas",
                    created_by="user-alice",
                    created_at=stamp,
                    updated_at=stamp,
                    last_seq=2,
                )
            )
            common = {"room_id": room_id, "author_kind": "human", "status": "complete"}
            await conn.execute(
                insert(MESSAGES_0001),
                [
                    {
                        **common,
                        "id": first_id,
                        "seq": 1,
                        "author_id": ALICE.id,
                        "author_name": ALICE.name,
                        "content": "first",
                        "reply_to": None,
                        "client_msg_id": "c-1",
                        "created_at": stamp,
                    },
                    {
                        **common,
                        "id": second_id,
                        "seq": 2,
                        "author_id": BOB.id,
                        "author_name": BOB.name,
                        "content": "second",
                        "reply_to": first_id,
                        "client_msg_id": None,
                        "created_at": stamp + timedelta(seconds=1),
                    },
                ],
            )

        await migrate(engine)
        repo = RoomRepository(engine)

        assert await repo.get_room(room_id) == RoomRecord(
            id=room_id,
            name="Before personas",
            created_by="user-alice",
            created_at=stamp,
            updated_at=stamp,
            last_seq=2,
            access="open",  # rooms from before 0003 were readable by anyone; they stay so
            allow_guests=True,
        )
        history, has_more = await repo.load_history(room_id, before=None, after=None, limit=10)
        assert not has_more
        assert history == [
            MessageRecord(first_id, room_id, 1, ALICE, "first", None, "complete", "c-1", stamp),
            MessageRecord(
                second_id,
                room_id,
                2,
                BOB,
                "second",
                first_id,
                "complete",
                None,
                stamp + timedelta(seconds=1),
            ),
        ]
        # The upgraded room goes on where it stopped, and takes personas.
        following, _ = await post(repo, room_id, "third")
        assert following.seq == 3
        assert (await repo.update_room(room_id, personas=[SCRIBE])).personas == (SCRIBE,)
    finally:
        await engine.dispose()


async def test_downgrade_to_0001_keeps_rooms_and_messages(engine: AsyncEngine) -> None:
    repo = RoomRepository(engine)
    room = await repo.create_room("General", "user-alice", [SCRIBE])
    await fill(repo, room.id, 3)

    async with engine.begin() as conn:
        await conn.run_sync(_alembic(command.downgrade, "0001"))
        rows = (await conn.execute(text("SELECT seq, content FROM messages ORDER BY seq"))).all()
        tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
    assert rows == [(1, "m1"), (2, "m2"), (3, "m3")]
    assert "personas" not in tables


# --- rooms --------------------------------------------------------------------------------------


async def test_create_get_and_update_room(repo: RoomRepository) -> None:
    room = await repo.create_room("General", "user-alice")
    assert (room.name, room.created_by, room.last_seq) == ("General", "user-alice", 0)
    assert room.updated_at == room.created_at
    assert await repo.get_room(room.id) == room

    renamed = await repo.update_room(room.id, name="Random")
    assert renamed.name == "Random"
    assert renamed.created_at == room.created_at
    assert renamed.updated_at > room.updated_at
    assert await repo.get_room(room.id) == renamed

    touched = await repo.update_room(room.id, name=None)
    assert touched.name == "Random"
    assert touched.updated_at > renamed.updated_at


async def test_unknown_room_is_not_found(repo: RoomRepository) -> None:
    with pytest.raises(NotFound, match=r"^Room not found\.$"):
        await repo.get_room(MISSING_ROOM)
    with pytest.raises(NotFound):
        await repo.update_room(MISSING_ROOM, name="x")
    with pytest.raises(NotFound):
        await post(repo, MISSING_ROOM)
    with pytest.raises(NotFound):
        await repo.load_history(MISSING_ROOM, before=None, after=None, limit=10)


async def test_list_rooms_newest_first(repo: RoomRepository) -> None:
    assert await repo.list_rooms(10) == []
    created = [await repo.create_room(f"room {i}", "user-alice") for i in range(3)]
    newest_first = [room.id for room in reversed(created)]
    assert [room.id for room in await repo.list_rooms(10)] == newest_first
    assert [room.id for room in await repo.list_rooms(2)] == newest_first[:2]


async def test_timestamps_are_aware_utc(engine: AsyncEngine, repo: RoomRepository) -> None:
    before = datetime.now(UTC)
    room = await repo.create_room("General", "user-alice")
    await post(repo, room.id)
    stored_room = await RoomRepository(engine).get_room(room.id)
    [stored_message], _ = await repo.load_history(room.id, before=None, after=None, limit=1)
    for stamp in (stored_room.created_at, stored_room.updated_at, stored_message.created_at):
        assert stamp.utcoffset() == timedelta(0)
        assert before <= stamp <= datetime.now(UTC)


# --- posting ------------------------------------------------------------------------------------


async def test_seq_is_dense_under_concurrent_posts(repo: RoomRepository) -> None:
    rooms = [await repo.create_room(f"room {i}", "user-alice") for i in range(3)]
    results = await asyncio.gather(
        *(post(repo, rooms[i % 3].id, f"m{i}", client_msg_id=f"c-{i}") for i in range(200))
    )
    assert not any(duplicate for _, duplicate in results)
    for index, room in enumerate(rooms):
        expected = len(range(index, 200, 3))
        history, has_more = await repo.load_history(room.id, before=None, after=None, limit=500)
        assert seqs(history) == list(range(1, expected + 1))
        assert not has_more
        assert (await repo.get_room(room.id)).last_seq == expected


async def test_repeated_client_msg_id_returns_original(
    engine: AsyncEngine, repo: RoomRepository
) -> None:
    room = await repo.create_room("General", "user-alice")
    original, duplicate = await post(repo, room.id, "first", client_msg_id="c-1")
    assert not duplicate

    again, duplicate = await post(repo, room.id, "edited on retry", client_msg_id="c-1")
    assert duplicate
    assert again == original
    assert await message_count(engine) == 1

    # The retry consumed no seq.
    following, _ = await post(repo, room.id, "next", client_msg_id="c-2")
    assert following.seq == 2


async def test_concurrent_retries_store_one_message(
    engine: AsyncEngine, repo: RoomRepository
) -> None:
    room = await repo.create_room("General", "user-alice")
    results = await asyncio.gather(
        *(post(repo, room.id, f"try {i}", client_msg_id="c-1") for i in range(20))
    )
    assert [duplicate for _, duplicate in results].count(False) == 1
    assert len({message.id for message, _ in results}) == 1
    assert await message_count(engine) == 1
    assert (await repo.get_room(room.id)).last_seq == 1


async def test_client_msg_id_is_scoped_to_author_and_room(
    engine: AsyncEngine, repo: RoomRepository
) -> None:
    room = await repo.create_room("General", "user-alice")
    other_room = await repo.create_room("Random", "user-alice")
    original, _ = await post(repo, room.id, client_msg_id="c-1")

    from_bob, bob_duplicate = await post(repo, room.id, author=BOB, client_msg_id="c-1")
    elsewhere, elsewhere_duplicate = await post(repo, other_room.id, client_msg_id="c-1")

    assert not bob_duplicate and not elsewhere_duplicate
    assert len({original.id, from_bob.id, elsewhere.id}) == 3
    assert (from_bob.seq, elsewhere.seq) == (2, 1)
    assert await message_count(engine) == 3


async def test_messages_without_client_msg_id_never_collide(repo: RoomRepository) -> None:
    room = await repo.create_room("General", "user-alice")
    first, first_duplicate = await post(repo, room.id, "same")
    second, second_duplicate = await post(repo, room.id, "same")
    assert not first_duplicate and not second_duplicate
    assert (first.seq, second.seq) == (1, 2)


async def test_duplicates_racing_from_two_instances_store_one_message(
    engine: AsyncEngine, database_url: str
) -> None:
    # Two room-service instances (two engines, two write queues) get the same retried send at
    # once: the database's unique key decides, and both answer with the one stored message.
    other = create_engine(database_url)
    try:
        repos = [RoomRepository(engine), RoomRepository(other)]
        room = await repos[0].create_room("General", "user-alice")
        for attempt in range(10):
            results = await asyncio.gather(
                *(
                    post(repo, room.id, f"try {i}", client_msg_id=f"c-{attempt}")
                    for i, repo in enumerate(repos)
                )
            )
            (first, first_duplicate), (second, second_duplicate) = results
            assert first == second
            assert sorted([first_duplicate, second_duplicate]) == [False, True]
        assert await message_count(engine) == 10
        assert (await repos[1].get_room(room.id)).last_seq == 10
    finally:
        await other.dispose()


async def test_reply_to_a_message_in_the_same_room(repo: RoomRepository) -> None:
    room = await repo.create_room("General", "user-alice")
    parent, _ = await post(repo, room.id, "question")
    reply, _ = await post(repo, room.id, "answer", author=BOB, reply_to=parent.id)
    assert reply.reply_to == parent.id
    history, _ = await repo.load_history(room.id, before=None, after=None, limit=10)
    assert history[-1] == reply


@pytest.mark.parametrize("target", ["other-room", "unknown"])
async def test_reply_to_outside_the_room_is_rejected_and_stores_nothing(
    engine: AsyncEngine, repo: RoomRepository, target: str
) -> None:
    room = await repo.create_room("General", "user-alice")
    other_room = await repo.create_room("Random", "user-alice")
    await post(repo, room.id, "first")
    elsewhere, _ = await post(repo, other_room.id, "elsewhere")
    reply_to = elsewhere.id if target == "other-room" else MISSING_ROOM

    with pytest.raises(InvalidArgument, match=r"^reply_to must name a message in this room\.$"):
        await post(repo, room.id, "reply", reply_to=reply_to)

    assert await message_count(engine) == 2
    following, _ = await post(repo, room.id, "second")
    assert following.seq == 2


# --- history ------------------------------------------------------------------------------------


async def test_history_of_empty_room(repo: RoomRepository) -> None:
    room = await repo.create_room("General", "user-alice")
    assert await repo.load_history(room.id, before=None, after=None, limit=50) == ([], False)
    assert await repo.load_history(room.id, before=1, after=None, limit=50) == ([], False)
    assert await repo.load_history(room.id, before=None, after=0, limit=50) == ([], False)


@pytest.mark.parametrize(("count", "has_more"), [(5, False), (6, True)])
async def test_newest_page_at_exactly_limit_and_one_more(
    repo: RoomRepository, count: int, has_more: bool
) -> None:
    room = await repo.create_room("General", "user-alice")
    posted = await fill(repo, room.id, count)
    page, more = await repo.load_history(room.id, before=None, after=None, limit=5)
    assert page == posted[-5:]
    assert more is has_more


async def test_paging_backwards_and_forwards(repo: RoomRepository) -> None:
    room = await repo.create_room("General", "user-alice")
    await fill(repo, room.id, 12)

    assert await _seqs_and_more(repo, room.id, before=None, after=None) == (
        [8, 9, 10, 11, 12],
        True,
    )
    assert await _seqs_and_more(repo, room.id, before=8, after=None) == ([3, 4, 5, 6, 7], True)
    assert await _seqs_and_more(repo, room.id, before=3, after=None) == ([1, 2], False)
    assert await _seqs_and_more(repo, room.id, before=6, after=None) == ([1, 2, 3, 4, 5], False)
    assert await _seqs_and_more(repo, room.id, before=1, after=None) == ([], False)

    assert await _seqs_and_more(repo, room.id, before=None, after=0) == ([1, 2, 3, 4, 5], True)
    assert await _seqs_and_more(repo, room.id, before=None, after=5) == ([6, 7, 8, 9, 10], True)
    assert await _seqs_and_more(repo, room.id, before=None, after=7) == ([8, 9, 10, 11, 12], False)
    assert await _seqs_and_more(repo, room.id, before=None, after=10) == ([11, 12], False)
    assert await _seqs_and_more(repo, room.id, before=None, after=12) == ([], False)


async def _seqs_and_more(
    repo: RoomRepository, room_id: str, *, before: int | None, after: int | None
) -> tuple[list[int], bool]:
    page, has_more = await repo.load_history(room_id, before=before, after=after, limit=5)
    return seqs(page), has_more


async def test_history_is_per_room(repo: RoomRepository) -> None:
    room = await repo.create_room("General", "user-alice")
    other_room = await repo.create_room("Random", "user-alice")
    mine = await fill(repo, room.id, 3)
    await fill(repo, other_room.id, 4)
    assert await repo.load_history(room.id, before=None, after=None, limit=10) == (mine, False)


async def test_before_and_after_together_are_rejected(repo: RoomRepository) -> None:
    room = await repo.create_room("General", "user-alice")
    with pytest.raises(InvalidArgument):
        await repo.load_history(room.id, before=5, after=1, limit=10)


# --- durability ---------------------------------------------------------------------------------


async def test_messages_survive_reopening_the_database(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        repo = RoomRepository(engine)
        room = await repo.create_room("General", "user-alice")
        message, _ = await post(repo, room.id, "remember me", client_msg_id="c-1")
    finally:
        await engine.dispose()

    reopened = create_engine(database_url)
    try:
        await migrate(reopened)
        history, _ = await RoomRepository(reopened).load_history(
            room.id, before=None, after=None, limit=10
        )
        assert history == [message]
    finally:
        await reopened.dispose()


async def test_repositories_on_one_sqlite_engine_share_its_writer_lock(engine: AsyncEngine) -> None:
    accounts, rooms = AccountRepository(engine), RoomRepository(engine)
    assert accounts._write_lock is rooms._write_lock
    if engine.dialect.name == "sqlite":
        assert accounts._write_lock is not None


@contextmanager
def count_statements(engine: AsyncEngine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def test_listing_rooms_costs_the_same_for_any_number_of_rooms(
    engine: AsyncEngine,
) -> None:
    repo = RoomRepository(engine)
    await repo.create_room("room 0", "user-alice", [persona("alpha"), persona("beta")])
    with count_statements(engine) as for_one:
        assert len(await repo.list_rooms(50)) == 1
    for i in range(1, 6):
        await repo.create_room(f"room {i}", "user-alice", [persona("gamma"), persona("alpha")])
    with count_statements(engine) as for_six:
        listed = await repo.list_rooms(50)
    assert [len(room.personas) for room in listed] == [2] * 6
    assert for_one and len(for_six) == len(for_one)


def persona(handle: str) -> PersonaRecord:
    return PersonaRecord(handle, handle.title(), "m", "", 0.7, 16)
