"""Access on RoomSession streams: joins are checked, each connection's role is cached and kept current."""

from __future__ import annotations

from typing import Any

import pytest

from services.common.pb import room_pb2 as pb
from services.room.access import VIEWERS_CANNOT_SEND, VIEWERS_CANNOT_STOP
from services.room.events import AccountDisabled
from services.room.hub import GatewayStream
from services.room.servicer import RoomServicer
from services.room.session import JOIN_DENIED
from services.room.tests.conftest import World, attach, drain, room_servicer

pytestmark = pytest.mark.unit

OPEN, MEMBER, VIEWER = pb.ROOM_ACCESS_OPEN, pb.ROOM_ROLE_MEMBER, pb.ROOM_ROLE_VIEWER


class FakeOrchestrator:
    """Every reply id in `streaming` is stoppable."""

    def __init__(self) -> None:
        self.streaming: set[str] = set()
        self.stopped: list[str] = []

    def speaking(self, room_id: str) -> list[pb.SpeechEvent]:
        return []

    def request_stop(self, room_id: str, message_id: str) -> bool:
        if message_id in self.streaming:
            self.stopped.append(message_id)
            return True
        return False


@pytest.fixture
def orchestrator() -> FakeOrchestrator:
    return FakeOrchestrator()


@pytest.fixture
def servicer(world: World, orchestrator: FakeOrchestrator) -> RoomServicer:
    return room_servicer(world, orchestrator)


class Session:
    """One gateway stream on a room, driven through the servicer's request handler."""

    def __init__(self, servicer: RoomServicer, stream: GatewayStream) -> None:
        self.servicer = servicer
        self.stream = stream

    async def request(self, **kind: Any) -> list[pb.SessionEvent]:
        await self.servicer.sessions.handle(self.stream, pb.SessionRequest(**kind))
        return drain(self.stream)

    async def join(self, conn_id: str, user: pb.User) -> list[pb.SessionEvent]:
        return await self.request(join=pb.MemberJoin(conn_id=conn_id, user=user))

    async def send(self, conn_id: str, user: pb.User, content: str = "hi") -> pb.SendResult:
        send = pb.SendMessage(conn_id=conn_id, author=user, content=content)
        events = await self.request(send=send)
        [result] = [e.send_result for e in events if e.HasField("send_result")]
        return result


async def session(world: World, servicer: RoomServicer, room_id: str) -> Session:
    return Session(servicer, await attach(world, room_id))


def errors(events: list[pb.SessionEvent]) -> list[tuple[str, str, str]]:
    return [(e.error.conn_id, e.error.code, e.error.message) for e in events if e.HasField("error")]


async def test_joining_a_room_one_may_not_read_is_refused(
    world: World, servicer: RoomServicer
) -> None:
    alice, bob = await world.user("alice"), await world.user("bob")
    room = await world.rooms.create(alice, "Plans")
    live = await session(world, servicer, room.id)

    events = await live.join("c1", bob)

    assert errors(events) == [("c1", "permission_denied", JOIN_DENIED)]
    assert live.stream.members == {}
    joined = await live.join("c2", alice)
    assert [(e.presence.user.id, e.presence.online) for e in joined if e.HasField("presence")] == [
        (alice.id, True)
    ]


async def test_joining_an_open_room_makes_a_member(world: World, servicer: RoomServicer) -> None:
    alice, bob = await world.user("alice"), await world.user("bob")
    room = await world.rooms.create(alice, "Lobby", access=OPEN)
    live = await session(world, servicer, room.id)

    events = await live.join("c1", bob)

    kinds = [e.WhichOneof("kind") for e in events]
    assert kinds == ["member_updated", "presence", "joined"]
    assert (events[-1].joined.conn_id, events[-1].joined.role) == ("c1", MEMBER)
    assert (await world.rooms.get(bob, room.id)).role == MEMBER
    assert (await live.send("c1", bob)).message.author.id == bob.id


async def test_viewers_cannot_send_stop_or_type(
    world: World, servicer: RoomServicer, orchestrator: FakeOrchestrator
) -> None:
    alice, bob = await world.user("alice"), await world.user("bob")
    room = await world.rooms.create(alice, "Plans")
    _, token = await world.members.create_invite(alice, room.id, 0, 0, VIEWER)
    await world.members.accept_invite(bob, token)
    orchestrator.streaming.add("reply-1")
    live = await session(world, servicer, room.id)
    await live.join("c1", bob)

    result = await live.send("c1", bob)
    assert (result.error_code, result.error_message) == ("permission_denied", VIEWERS_CANNOT_SEND)
    events = await live.request(interrupt=pb.InterruptReply(conn_id="c1", message_id="reply-1"))
    assert errors(events) == [("c1", "permission_denied", VIEWERS_CANNOT_STOP)]
    assert orchestrator.stopped == []
    assert await live.request(typing=pb.SetTyping(conn_id="c1", active=True)) == []
    messages, _ = await world.rooms.history(alice, room.id, None, None, 10)
    assert messages == []


async def test_roles_are_cached_per_connection_and_kept_current(
    world: World, servicer: RoomServicer, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = await world.user("alice"), await world.user("bob")
    room = await world.rooms.create(alice, "Plans")
    _, token = await world.members.create_invite(alice, room.id, 0, 0, MEMBER)
    await world.members.accept_invite(bob, token)
    live = await session(world, servicer, room.id)
    await live.join("c1", bob)

    # A joined connection's frames need no access query.
    lookups: list[str] = []
    real = world.rooms.access.members.room_and_role

    async def counted(room_id: str, account_id: str):  # type: ignore[no-untyped-def]
        lookups.append(account_id)
        return await real(room_id, account_id)

    monkeypatch.setattr(world.rooms.access.members, "room_and_role", counted)
    assert (await live.send("c1", bob)).error_code == ""
    assert bob.id not in lookups

    # A demotion applies to the very next frame.
    await world.members.update(alice, room.id, bob.id, VIEWER)
    [updated] = [
        e.member_updated.member for e in drain(live.stream) if e.HasField("member_updated")
    ]
    assert (updated.user.id, updated.role) == (bob.id, VIEWER)
    assert (await live.send("c1", bob)).error_code == "permission_denied"
    await world.members.update(alice, room.id, bob.id, MEMBER)
    assert (await live.send("c1", bob)).error_code == ""
    assert bob.id not in lookups  # (alice's owner checks looked her up)


async def test_removed_members_are_told_and_forgotten(world: World, servicer: RoomServicer) -> None:
    alice, bob = await world.user("alice"), await world.user("bob")
    room = await world.rooms.create(alice, "Plans")
    _, token = await world.members.create_invite(alice, room.id, 0, 0, MEMBER)
    await world.members.accept_invite(bob, token)
    live = await session(world, servicer, room.id)
    await live.join("c1", bob)
    await live.join("c2", bob)

    await world.members.remove(alice, room.id, bob.id)

    events = drain(live.stream)
    assert [e.WhichOneof("kind") for e in events] == ["member_removed", "presence"]
    assert events[0].member_removed.user_id == bob.id
    assert (events[1].presence.user.id, events[1].presence.online) == (bob.id, False)
    assert live.stream.members == {}
    # A send still in flight from the closed socket is checked against the database.
    result = await live.send("c1", bob)
    assert (result.error_code, result.error_message) == ("not_found", "Room not found.")


async def test_guests_are_removed_when_the_room_stops_admitting_them(
    world: World, servicer: RoomServicer
) -> None:
    alice = await world.user("alice")
    guest = await world.guest()
    room = await world.rooms.create(alice, "Lobby", access=OPEN, allow_guests=True)
    live = await session(world, servicer, room.id)
    await live.join("g", guest)
    await live.join("a", alice)
    drain(live.stream)

    await world.rooms.update(alice, room.id, None, allow_guests=False)

    kinds = [(e.WhichOneof("kind"), e) for e in drain(live.stream)]
    assert [k for k, _ in kinds] == ["room_updated", "member_removed", "presence"]
    assert kinds[1][1].member_removed.user_id == guest.id
    assert [c.user.id for c in live.stream.members.values()] == [alice.id]


async def test_disabled_accounts_are_forgotten_everywhere(
    world: World, servicer: RoomServicer
) -> None:
    alice, bob = await world.user("alice"), await world.user("bob")
    room = await world.rooms.create(alice, "Lobby", access=OPEN)
    live = await session(world, servicer, room.id)
    await live.join("c1", bob)
    world.hub.events.subscribe(
        AccountDisabled, lambda event: world.hub.remove_everywhere(event.account_id)
    )

    await world.accounts.disable_by_username("bob", True)

    assert live.stream.members == {}
    assert (await live.send("c1", bob)).error_code == "not_found"
