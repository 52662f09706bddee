"""The newest messages held in memory: what a reply's context reads is what the store holds."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.room.hub import RoomHub
from services.room.recent import RecentMessages
from services.room.store.records import AuthorRecord, MessageRecord
from services.room.store.sql.repository import RoomRepository
from services.room.timeline import Timeline

pytestmark = pytest.mark.unit

ANA = AuthorRecord(id="u1", name="Ana", kind="human")
SAGE = AuthorRecord(id="persona:sage", name="Sage", kind="ai", handle="sage")


def timeline_on(repo: RoomRepository, *, per_room: int = 5, rooms: int = 2) -> Timeline:
    return Timeline(
        repo, RoomHub(typing_ttl_s=5), RecentMessages(repo, per_room=per_room, rooms=rooms)
    )


async def say(timeline: Timeline, room_id: str, *texts: str) -> None:
    for text in texts:
        await timeline.append(room_id, ANA, text)


def texts(messages: list[MessageRecord]) -> list[tuple[int, str, str]]:
    return [(m.seq, m.content, m.status) for m in messages]


async def test_after_one_read_every_commit_is_followed_in_memory(engine: AsyncEngine) -> None:
    repo = RoomRepository(engine)
    timeline = timeline_on(repo)
    room = await repo.create_room("Lab", "u1", [])
    await say(timeline, room.id, "one", "two")
    recent = timeline.recent

    assert texts(await timeline.recent_messages(room.id, upto_seq=2, limit=5)) == [
        (1, "one", "complete"),
        (2, "two", "complete"),
    ]
    async with timeline.hold(room.id) as held:
        reply = await held.start_reply(SAGE, reply_to=None)
    await timeline.checkpoint(room.id, reply.id, "Half an ans")
    await say(timeline, room.id, "three")
    await timeline.finish_reply(room.id, reply.id, content="Half an answer.", status="complete")
    await say(timeline, room.id, "four", "five", "six")

    assert recent.reads == 1  # everything since came from the commits themselves
    for upto in range(0, 9):
        for limit in (1, 3, 5):
            held_now = await timeline.recent_messages(room.id, upto_seq=upto, limit=limit)
            stored = await repo.recent_messages(room.id, upto_seq=upto, limit=limit)
            assert held_now == stored, (upto, limit)
    assert texts(await timeline.recent_messages(room.id, upto_seq=4, limit=2)) == [
        (3, "Half an answer.", "complete"),
        (4, "three", "complete"),
    ]


async def test_a_window_past_its_size_drops_the_oldest_and_reads_older_ones_again(
    engine: AsyncEngine,
) -> None:
    repo = RoomRepository(engine)
    timeline = timeline_on(repo, per_room=3)
    room = await repo.create_room("Lab", "u1", [])
    await say(timeline, room.id, "a", "b")
    await timeline.recent_messages(room.id, upto_seq=2, limit=3)
    await say(timeline, room.id, "c", "d", "e")
    reads = timeline.recent.reads

    newest = await timeline.recent_messages(room.id, upto_seq=5, limit=3)
    assert [m.content for m in newest] == ["c", "d", "e"]
    assert timeline.recent.reads == reads  # held: c, d, e

    older = await timeline.recent_messages(room.id, upto_seq=3, limit=3)
    assert [m.content for m in older] == ["a", "b", "c"]  # a and b had left the window
    assert timeline.recent.reads == reads + 1


async def test_a_commit_during_the_read_that_fills_a_window_is_never_missed(
    engine: AsyncEngine,
) -> None:
    repo = RoomRepository(engine)
    timeline = timeline_on(repo)
    room = await repo.create_room("Lab", "u1", [])
    await say(timeline, room.id, "before")
    reading, go_on = asyncio.Event(), asyncio.Event()
    read = repo.recent_messages

    async def slow_read(room_id: str, *, upto_seq: int, limit: int) -> list[MessageRecord]:
        found = await read(room_id, upto_seq=upto_seq, limit=limit)
        reading.set()
        await go_on.wait()  # the read has its rows; a commit lands before it returns
        return found

    repo.recent_messages = slow_read  # type: ignore[method-assign]
    filling = asyncio.create_task(timeline.recent_messages(room.id, upto_seq=1, limit=5))
    await asyncio.wait_for(reading.wait(), 10)
    await say(timeline, room.id, "during")
    go_on.set()
    assert [m.content for m in await filling] == ["before"]
    repo.recent_messages = read  # type: ignore[method-assign]

    after = await timeline.recent_messages(room.id, upto_seq=2, limit=5)
    assert [m.content for m in after] == ["before", "during"]


async def test_only_the_most_recently_asked_rooms_are_held(engine: AsyncEngine) -> None:
    repo = RoomRepository(engine)
    timeline = timeline_on(repo, rooms=2)
    rooms = [await repo.create_room(f"Room {n}", "u1", []) for n in range(3)]
    for room in rooms:
        await say(timeline, room.id, f"hello {room.name}")
        await timeline.recent_messages(room.id, upto_seq=1, limit=5)
    reads = timeline.recent.reads

    await timeline.recent_messages(rooms[2].id, upto_seq=1, limit=5)  # held
    assert timeline.recent.reads == reads
    first = await timeline.recent_messages(rooms[0].id, upto_seq=1, limit=5)  # dropped
    assert timeline.recent.reads == reads + 1
    assert [m.content for m in first] == ["hello Room 0"]
