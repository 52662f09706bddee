"""Access to the autopilot and summaries: members and owners switch and summarize, viewers cannot,
non-readers learn nothing, and every other room change stays with the owners."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Coroutine
from typing import Any, cast

import grpc
import pytest

from services.common.pb import room_pb2 as pb
from services.room.access import OWNERS_ONLY, VIEWERS_CANNOT_PILOT, VIEWERS_CANNOT_SUMMARIZE
from services.room.orchestrator.turns import Orchestrator
from services.room.servicer import RoomServicer
from services.room.store.records import ROOM_NOT_FOUND
from services.room.tests.conftest import World, attach, drain, stirred_autopilot

pytestmark = pytest.mark.unit

OPEN = pb.ROOM_ACCESS_OPEN
OWNER, MEMBER, VIEWER = pb.ROOM_ROLE_OWNER, pb.ROOM_ROLE_MEMBER, pb.ROOM_ROLE_VIEWER
TEN_TURNS = pb.AutopilotPatch(max_turns=10)


class Aborted(Exception):
    """What a unary call ended with."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code, self.details = code, details


class Context:
    """Just enough of a servicer context: `abort` raises."""

    async def abort(self, code: grpc.StatusCode, details: str, **_: Any) -> None:
        raise Aborted(code, details)


class FakeSummarizer:
    """Records who asked for a summary and answers with a system message."""

    def __init__(self) -> None:
        self.askers: list[str] = []

    async def post(self, room_id: str, *, asker_id: str = "") -> pb.Message:
        self.askers.append(asker_id)
        return pb.Message(
            room_id=room_id, content="Summary", author=pb.Author(kind=pb.AUTHOR_KIND_SYSTEM)
        )


class FakeOrchestrator:
    """No replies ever run; summaries go to the fake summarizer."""

    def __init__(self) -> None:
        self.summarizer = FakeSummarizer()
        self.on_settled = None

    def spawn(self, room_id: str, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        return asyncio.create_task(work)

    def busy(self, room_id: str) -> bool:
        return False

    def speaking(self, room_id: str) -> list[pb.SpeechEvent]:
        return []

    def request_stop(self, room_id: str, message_id: str) -> bool:
        return False


@pytest.fixture
def orchestrator() -> FakeOrchestrator:
    return FakeOrchestrator()


@pytest.fixture
async def servicer(world: World, orchestrator: FakeOrchestrator) -> AsyncIterator[RoomServicer]:
    fake = cast(Orchestrator, orchestrator)
    autopilot = stirred_autopilot(world.timeline, fake)
    yield RoomServicer(
        world.rooms, world.members, world.hub, fake, session_queue_size=1000, autopilot=autopilot
    )
    await autopilot.close()


async def refused(call: Awaitable[Any]) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(Aborted) as raised:
        await call
    return raised.value.code, raised.value.details


def update(
    servicer: RoomServicer, actor: pb.User, room_id: str, **fields: Any
) -> Awaitable[pb.Room]:
    request = pb.UpdateRoomRequest(actor=actor, room_id=room_id, **fields)
    return servicer.UpdateRoom(request, cast(grpc.aio.ServicerContext, Context()))


def summary(servicer: RoomServicer, actor: pb.User, room_id: str) -> Awaitable[pb.Message]:
    request = pb.SummaryPostRequest(actor=actor, room_id=room_id)
    return servicer.SummaryPost(request, cast(grpc.aio.ServicerContext, Context()))


async def invited(world: World, owner: pb.User, room_id: str, role: int, name: str) -> pb.User:
    user = await world.user(name)
    _, token = await world.members.create_invite(owner, room_id, 0, 0, role)
    await world.members.accept_invite(user, token)
    return user


async def plans(world: World) -> tuple[pb.Room, pb.User, pb.User, pb.User]:
    """An invite room with its owner, a member and a viewer."""
    alice = await world.user("alice")
    room = await world.rooms.create(alice, "Plans", [pb.Persona(handle="bot", model="m")])
    bob = await invited(world, alice, room.id, MEMBER, "bob")
    vera = await invited(world, alice, room.id, VIEWER, "vera")
    return room, alice, bob, vera


async def max_turns(world: World, owner: pb.User, room_id: str) -> int:
    return (await world.rooms.get(owner, room_id)).autopilot.max_turns


# --- UpdateRoom -------------------------------------------------------------------------------


async def test_members_and_owners_change_only_the_autopilot(
    world: World, servicer: RoomServicer
) -> None:
    room, alice, bob, _ = await plans(world)

    by_member = await update(servicer, bob, room.id, autopilot=pb.AutopilotPatch(max_turns=3))
    assert (by_member.autopilot.max_turns, by_member.role) == (3, MEMBER)
    by_owner = await update(servicer, alice, room.id, autopilot=pb.AutopilotPatch(max_turns=4))
    assert (by_owner.autopilot.max_turns, by_owner.role) == (4, OWNER)


async def test_viewers_cannot_change_the_autopilot(world: World, servicer: RoomServicer) -> None:
    room, alice, _, vera = await plans(world)

    for patch in (pb.AutopilotPatch(enabled=True), pb.AutopilotPatch(max_turns=3)):
        assert await refused(update(servicer, vera, room.id, autopilot=patch)) == (
            grpc.StatusCode.PERMISSION_DENIED,
            VIEWERS_CANNOT_PILOT,
        )
    after = await world.rooms.get(alice, room.id)
    assert (after.autopilot.enabled, after.autopilot.max_turns) == (False, 10)


async def test_anything_besides_the_autopilot_needs_an_owner(
    world: World, servicer: RoomServicer
) -> None:
    room, alice, bob, vera = await plans(world)
    muted = pb.PersonaList(personas=[pb.Persona(handle="bot", model="m", muted=True)])
    changes: list[dict[str, Any]] = [
        {"name": "Mine"},
        {"personas": muted},
        {"access": OPEN},
        {"allow_guests": True},
    ]

    for user in (bob, vera):
        for change in changes:
            for fields in (change, {**change, "autopilot": TEN_TURNS}):
                assert await refused(update(servicer, user, room.id, **fields)) == (
                    grpc.StatusCode.PERMISSION_DENIED,
                    OWNERS_ONLY,
                )
    after = await world.rooms.get(alice, room.id)
    assert (after.name, after.personas[0].muted, after.access) == (
        "Plans",
        False,
        pb.ROOM_ACCESS_INVITE,
    )

    both = await update(
        servicer, alice, room.id, name="Mine", autopilot=pb.AutopilotPatch(max_turns=5)
    )
    assert (both.name, both.autopilot.max_turns, both.role) == ("Mine", 5, OWNER)


async def test_rooms_one_may_not_read_stay_hidden(world: World, servicer: RoomServicer) -> None:
    room, alice, _, _ = await plans(world)
    mallory = await world.user("mallory")
    guest = await world.guest()
    bad_patch = pb.AutopilotPatch(strategy="loudest")  # refused as hidden, not as invalid

    for user in (mallory, guest, pb.User(id="nobody", name="Nobody")):
        for fields in (
            {"autopilot": TEN_TURNS},
            {"autopilot": bad_patch},
            {"autopilot": TEN_TURNS, "name": "Mine"},
        ):
            assert await refused(update(servicer, user, room.id, **fields)) == (
                grpc.StatusCode.NOT_FOUND,
                ROOM_NOT_FOUND,
            )
        assert await refused(summary(servicer, user, room.id)) == (
            grpc.StatusCode.NOT_FOUND,
            ROOM_NOT_FOUND,
        )
    assert await max_turns(world, alice, room.id) == 10


async def test_a_reader_of_an_open_room_who_switches_it_becomes_a_member(
    world: World, servicer: RoomServicer
) -> None:
    alice, bob = await world.user("alice"), await world.user("bob")
    room = await world.rooms.create(alice, "Lobby", access=OPEN)

    changed = await update(servicer, bob, room.id, autopilot=pb.AutopilotPatch(max_turns=2))

    assert (changed.autopilot.max_turns, changed.role) == (2, MEMBER)
    assert (await world.rooms.get(bob, room.id)).role == MEMBER


async def test_switching_off_names_who_did_it(world: World, servicer: RoomServicer) -> None:
    room, alice, bob, _ = await plans(world)
    await update(servicer, alice, room.id, autopilot=pb.AutopilotPatch(enabled=True))

    off = await update(
        servicer,
        pb.User(id=bob.id, name="spoofed"),
        room.id,
        autopilot=pb.AutopilotPatch(enabled=False),
    )

    assert (off.autopilot.enabled, off.autopilot.stopped_reason) == (False, "switched_off")
    messages, _ = await world.rooms.history(alice, room.id, None, None, 10)
    assert [(m.author.kind, m.content) for m in messages] == [
        (pb.AUTHOR_KIND_SYSTEM, "Autopilot switched off by bob.")
    ]


# --- the WebSocket `autopilot` frame ----------------------------------------------------------


async def test_autopilot_frames_from_viewers_are_refused(
    world: World, servicer: RoomServicer
) -> None:
    room, alice, bob, vera = await plans(world)
    stream = await attach(world, room.id)
    for conn_id, user in (("b", bob), ("v", vera)):
        await servicer.sessions.handle(
            stream, pb.SessionRequest(join=pb.MemberJoin(conn_id=conn_id, user=user))
        )
    drain(stream)

    async def frame(conn_id: str, turns: int) -> list[pb.SessionEvent]:
        patch = pb.AutopilotPatch(max_turns=turns)
        request = pb.AutopilotRequest(conn_id=conn_id, patch=patch)
        await servicer.sessions.handle(stream, pb.SessionRequest(autopilot=request))
        return drain(stream)

    [denied] = await frame("v", 3)
    assert (denied.error.conn_id, denied.error.code, denied.error.message) == (
        "v",
        "permission_denied",
        VIEWERS_CANNOT_PILOT,
    )
    [unknown] = await frame("gone", 3)
    assert unknown.error.code == "permission_denied"
    [changed] = await frame("b", 3)
    assert changed.room_updated.room.autopilot.max_turns == 3

    # A demotion applies to the very next frame.
    await world.members.update(alice, room.id, bob.id, VIEWER)
    drain(stream)
    [demoted] = await frame("b", 4)
    assert demoted.error.code == "permission_denied"
    assert await max_turns(world, alice, room.id) == 3


# --- SummaryPost ------------------------------------------------------------------------------


async def test_members_and_owners_post_summaries_viewers_cannot(
    world: World, servicer: RoomServicer, orchestrator: FakeOrchestrator
) -> None:
    room, alice, bob, vera = await plans(world)

    assert await refused(summary(servicer, vera, room.id)) == (
        grpc.StatusCode.PERMISSION_DENIED,
        VIEWERS_CANNOT_SUMMARIZE,
    )
    for user in (bob, alice):
        assert (await summary(servicer, user, room.id)).content == "Summary"

    # The asker's quota pays (with the room's): the verified account, never a viewer.
    assert orchestrator.summarizer.askers == [bob.id, alice.id]
