"""Many members in several rooms on two gateways: one order per room, nothing lost or doubled."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio

from tests.support.client import DATABASES, NO_LIMITS, Api, Member, running_stack
from tests.support.stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

ROOMS = 5
PER_ROOM = 11  # 55 sockets, alternating between the two gateways


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=DATABASES)
async def shared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    """A room service with two gateways, per database; each test makes its own rooms."""
    workdir = tmp_path_factory.mktemp(request.param)
    async with running_stack(request.param, workdir, NO_LIMITS, gateways=2) as stack:
        yield stack


@dataclass
class Seat:
    """One member of a crowd: who they are and their socket(s) so far."""

    user: dict[str, Any]
    token: str
    gateway: int
    sockets: list[Member] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)

    @property
    def socket(self) -> Member:
        return self.sockets[-1]

    def messages(self) -> list[dict[str, Any]]:
        """Every message this member received, over all its sockets, in order."""
        return [m for s in self.sockets for m in s.messages()]

    def acks(self) -> list[dict[str, Any]]:
        return [f for s in self.sockets for f in s.frames if f["type"] == "ack"]


@dataclass
class Crowd:
    api: Api
    rooms: dict[str, list[Seat]]

    def seats(self) -> list[Seat]:
        return [seat for seats in self.rooms.values() for seat in seats]

    async def close(self) -> None:
        sockets = [s for seat in self.seats() for s in seat.sockets]
        await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)
        await self.api.close()


@pytest_asyncio.fixture(loop_scope="module")
async def crowd(shared: Stack) -> AsyncIterator[Crowd]:
    """ROOMS rooms of PER_ROOM signed-in members each, all connected, spread over both gateways."""
    api = Api(shared.base_url())

    async def seat(name: str, gateway: int) -> Seat:
        user, token = await api.session(name)
        return Seat(user, token, gateway)

    async def room(r: int) -> tuple[str, list[Seat]]:
        seats = await asyncio.gather(*(seat(f"r{r}m{i}", i % 2) for i in range(PER_ROOM)))
        return (await api.create_room(seats[0].token, f"Room {r}"))["id"], list(seats)

    rooms = dict(await asyncio.gather(*(room(r) for r in range(ROOMS))))
    result = Crowd(api, rooms)
    try:
        await asyncio.gather(
            *(connect(shared, room_id, s) for room_id, seats in rooms.items() for s in seats)
        )
        yield result
    finally:
        await result.close()


async def connect(stack: Stack, room_id: str, seat: Seat, last_seq: int | None = None) -> None:
    member = Member(stack.ws_url(room_id, seat.gateway), seat.token)
    seat.sockets.append(member)
    await member.connect(last_seq=last_seq)


async def say(seat: Seat, count: int) -> None:
    """Send `count` messages one after another, each after the previous one's ack."""
    for _ in range(count):
        cmid = f"{seat.user['name']}-{len(seat.sent)}"
        seat.sent.append(cmid)
        member = seat.socket
        start = len(member.frames)
        await member.send({"type": "send", "content": f"from {cmid}", "client_msg_id": cmid})
        await member.wait_for(
            lambda f, cmid=cmid: f["type"] == "ack" and f["client_msg_id"] == cmid, start=start
        )


async def everyone_has(crowd: Crowd, count: int) -> None:
    """Wait until every member holds `count` messages, then for a pong after them.

    The pong comes after anything the gateway had already queued for the socket, so a
    duplicate or a late ack already on its way would be recorded by then.
    """

    async def settle(seat: Seat) -> None:
        await seat.socket.wait_until(lambda: len(seat.messages()) >= count)
        start = len(seat.socket.frames)
        await seat.socket.send({"type": "ping"})
        await seat.socket.wait_for(lambda f: f["type"] == "pong", start=start)

    await asyncio.gather(*(settle(seat) for seat in crowd.seats()))


async def assert_one_order(crowd: Crowd, count: int) -> None:
    """Every member of each room holds that room's history exactly: same ids, seq 1..count."""
    for room_id, seats in crowd.rooms.items():
        history = await crowd.api.all_messages(seats[0].token, room_id)
        ids = [m["id"] for m in history]
        assert [m["seq"] for m in history] == list(range(1, count + 1))
        assert len(set(ids)) == count
        for seat in seats:
            seen = seat.messages()
            assert [m["id"] for m in seen] == ids, seat.user["name"]
            assert [m["seq"] for m in seen] == list(range(1, count + 1))

        by_id = {m["id"]: m for m in history}
        for seat in seats:
            acks = seat.acks()
            assert Counter(a["client_msg_id"] for a in acks) == Counter(seat.sent)
            for ack in acks:
                message = by_id[ack["message_id"]]
                assert ack["duplicate"] is False
                assert ack["seq"] == message["seq"]
                assert message["author"]["id"] == seat.user["id"]
                assert message["content"] == f"from {ack['client_msg_id']}"


def online(member: Member) -> set[str]:
    """Who `member` believes is online: welcome's participants, then presence frames in order."""
    ids: set[str] = set()
    for frame in member.frames:
        if frame["type"] == "welcome":
            ids = {p["id"] for p in frame["participants"]}
        elif frame["type"] == "presence":
            (ids.add if frame["online"] else ids.discard)(frame["user"]["id"])
    return ids


async def test_presence_and_typing_reach_every_member_on_both_gateways(crowd: Crowd) -> None:
    for seats in crowd.rooms.values():
        everyone = {seat.user["id"] for seat in seats}
        await asyncio.gather(
            *(
                s.socket.wait_until(lambda s=s, everyone=everyone: online(s.socket) == everyone)
                for s in seats
            )
        )

    typers = [seats[0] for seats in crowd.rooms.values()]
    for typer in typers:
        await typer.socket.send({"type": "typing", "active": True})
    for typer, seats in zip(typers, crowd.rooms.values(), strict=True):
        await asyncio.gather(
            *(
                s.socket.wait_for(
                    lambda f, typer=typer: (
                        f["type"] == "typing"
                        and f["user"]["id"] == typer.user["id"]
                        and f["active"] is True
                    )
                )
                for s in seats[1:]
            )
        )
    # Typing stays in its room: nobody saw anyone type but their own room's typer.
    for typer, seats in zip(typers, crowd.rooms.values(), strict=True):
        for seat in seats:
            typing = [f for f in seat.socket.frames if f["type"] == "typing"]
            assert {f["user"]["id"] for f in typing} <= {typer.user["id"]} - {seat.user["id"]}


async def test_concurrent_senders_give_every_member_one_dense_order(crowd: Crowd) -> None:
    per_member = 4
    await asyncio.gather(*(say(seat, per_member) for seat in crowd.seats()))
    await everyone_has(crowd, PER_ROOM * per_member)
    await assert_one_order(crowd, PER_ROOM * per_member)


async def test_a_dropped_member_resumes_to_the_full_sequence_while_others_send(
    shared: Stack, crowd: Crowd
) -> None:
    first = 2
    await asyncio.gather(*(say(seat, first) for seat in crowd.seats()))
    await everyone_has(crowd, PER_ROOM * first)

    dropped = {room_id: seats[1] for room_id, seats in crowd.rooms.items()}
    await asyncio.gather(*(seat.socket.drop() for seat in dropped.values()))
    then = 3
    senders = [seat for seat in crowd.seats() if seat not in dropped.values()]
    sending = asyncio.gather(*(say(seat, then) for seat in senders))

    async def come_back(room_id: str, seat: Seat) -> None:
        # Reconnect while the others are still sending: what it missed comes as a replay,
        # what follows comes live, and the seam between them must not lose or double anything.
        watcher = crowd.rooms[room_id][2].socket
        await watcher.wait_until(lambda: len(watcher.messages()) >= PER_ROOM * first + 5)
        await connect(shared, room_id, seat, last_seq=seat.sockets[0].last_seq())
        assert seat.socket.welcome is not None and seat.socket.welcome["resumed"] is True

    await asyncio.gather(sending, *(come_back(r, seat) for r, seat in dropped.items()))
    total = PER_ROOM * first + (PER_ROOM - 1) * then
    await everyone_has(crowd, total)
    await assert_one_order(crowd, total)
    for seat in dropped.values():
        assert len(seat.sockets[0].messages()) == PER_ROOM * first
        assert len(seat.sockets[1].messages()) == total - PER_ROOM * first
