"""The RoomStore contract for personas, on every store."""

from __future__ import annotations

import asyncio

import pytest

from services.common.errors import InvalidArgument, NotFound
from services.room.store.protocol import RoomStore
from services.room.store.records import PersonaRecord
from services.room.store.registry import Store

pytestmark = pytest.mark.unit

MISSING_ROOM = "00000000-0000-0000-0000-000000000000"
ALPHA = PersonaRecord(
    handle="alpha",
    name="Alpha",
    model="qwen-local",
    system_prompt="You are Alpha, terse and exact.",
    temperature=0.7,
    max_tokens=256,
)
BETA = PersonaRecord(
    handle="beta",
    name="Beta",
    model="gpt-4o-mini",
    system_prompt="",
    temperature=1.25,
    max_tokens=4096,
)
# Same model as ALPHA, different character: personas are room-local.
GAMMA = PersonaRecord(
    handle="gamma",
    name="Gamma",
    model="qwen-local",
    system_prompt="You are Gamma, who doubts everything.",
    temperature=0.0,
    max_tokens=1,
)


@pytest.fixture
def repo(store: Store) -> RoomStore:
    return store.rooms


async def test_personas_round_trip_in_order(repo: RoomStore) -> None:
    room = await repo.create_room("General", "user-alice", [GAMMA, ALPHA, BETA])
    assert room.personas == (GAMMA, ALPHA, BETA)
    assert await repo.get_room(room.id) == room
    [listed] = await repo.list_rooms(10)
    assert listed == room


async def test_room_without_personas_has_none(repo: RoomStore) -> None:
    room = await repo.create_room("General", "user-alice")
    assert room.personas == ()
    assert (await repo.get_room(room.id)).personas == ()


async def test_update_replaces_personas(repo: RoomStore) -> None:
    room = await repo.create_room("General", "user-alice", [ALPHA, BETA])

    # Reordered, one kept with new settings, one dropped, one added.
    sharper = PersonaRecord("alpha", "Alpha II", "gpt-4o-mini", "Shorter.", 0.2, 64)
    replaced = await repo.update_room(room.id, personas=[GAMMA, sharper])
    assert replaced.personas == (GAMMA, sharper)
    assert replaced.updated_at > room.updated_at
    assert await repo.get_room(room.id) == replaced

    renamed = await repo.update_room(room.id, name="Renamed")
    assert (renamed.name, renamed.personas) == ("Renamed", (GAMMA, sharper))

    emptied = await repo.update_room(room.id, personas=[])
    assert (emptied.name, emptied.personas) == ("Renamed", ())
    assert await repo.get_room(room.id) == emptied


async def test_personas_are_per_room(repo: RoomStore) -> None:
    room = await repo.create_room("General", "user-alice", [ALPHA, BETA])
    other_room = await repo.create_room("Random", "user-alice", [BETA, ALPHA])

    await repo.update_room(room.id, personas=[GAMMA])

    assert (await repo.get_room(room.id)).personas == (GAMMA,)
    assert (await repo.get_room(other_room.id)).personas == (BETA, ALPHA)
    assert [listed.personas for listed in await repo.list_rooms(10)] == [(BETA, ALPHA), (GAMMA,)]


async def test_duplicate_handles_are_rejected_and_change_nothing(repo: RoomStore) -> None:
    twin = PersonaRecord("alpha", "Other Alpha", "gpt-4o-mini", "", 1.0, 100)
    with pytest.raises(InvalidArgument, match=r"^Persona handles must be unique in a room\.$"):
        await repo.create_room("General", "user-alice", [ALPHA, BETA, twin])
    assert await repo.list_rooms(10) == []

    room = await repo.create_room("General", "user-alice", [BETA])
    with pytest.raises(InvalidArgument, match=r"^Persona handles must be unique in a room\.$"):
        await repo.update_room(room.id, name="Renamed", personas=[ALPHA, twin])
    assert await repo.get_room(room.id) == room


async def test_updating_personas_of_unknown_room_is_not_found(repo: RoomStore) -> None:
    with pytest.raises(NotFound, match=r"^Room not found\.$"):
        await repo.update_room(MISSING_ROOM, personas=[ALPHA])


async def test_concurrent_persona_replacements_leave_one_whole_set(repo: RoomStore) -> None:
    room = await repo.create_room("General", "user-alice", [ALPHA])
    sets = [[ALPHA, BETA], [BETA, GAMMA], [GAMMA, ALPHA, BETA], [BETA]]
    await asyncio.gather(*(repo.update_room(room.id, personas=s) for s in sets * 3))
    assert list((await repo.get_room(room.id)).personas) in sets
