"""RoomLink after a reconnect: each socket is shown the new stream only once its re-join is
confirmed, and a member removed meanwhile is closed without seeing what was posted."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from services.common.pb import room_pb2 as pb
from services.gateway.tests.fakes import FakeServices
from services.gateway.tests.link_support import (
    MEMBER,
    VIEWER,
    WAIT_S,
    FakeSocket,
    joined,
    open_link,
)
from services.gateway.ws.protocol import CLOSE_NO_ACCESS

pytestmark = pytest.mark.unit

ELSEWHERE = pb.User(id="c", name="c")  # a member posting through another gateway


def post(fakes: FakeServices, room_id: str, *texts: str) -> None:
    for text in texts:
        fakes.rooms.post(room_id, ELSEWHERE, text)


def outage(fakes: FakeServices, room_id: str, *posted: str, removed: str = "") -> None:
    """The room service restarts; meanwhile `posted` are posted and `removed` loses access."""
    fakes.rooms.opens.clear()  # the link cannot get back until the outage is over
    fakes.rooms.cut(room_id)
    if removed:
        fakes.rooms.rooms[room_id].roles.pop(removed)
    post(fakes, room_id, *posted)  # no stream hears these: the link backfills them
    fakes.rooms.opens.set()


async def closed_with(sock: FakeSocket) -> int:
    return int((await sock.wait_for("closed"))["code"])


def seqs(sock: FakeSocket) -> list[int]:
    return [f["message"]["seq"] for f in sock.of("message")]


@pytest.mark.parametrize("role", [MEMBER, VIEWER])
@pytest.mark.parametrize("removed_first", [True, False], ids=["removed-first", "removed-later"])
async def test_a_user_removed_while_the_stream_was_down_is_closed_and_shown_none_of_it(
    fakes: FakeServices, channel: grpc.aio.Channel, role: int, removed_first: bool
) -> None:
    room_id = fakes.rooms.add_room({"x": role, "keep": MEMBER, ELSEWHERE.id: MEMBER})
    link = await open_link(channel, room_id)
    try:
        # The link's first socket is the one its own reads are made as, first.
        order = ("x", "keep", "x") if removed_first else ("keep", "x", "x")
        sockets = [sock for _, sock in await joined(link, *order, direct=True)]
        keep = sockets[order.index("keep")]
        removed = [sock for user, sock in zip(order, sockets, strict=True) if user == "x"]
        post(fakes, room_id, "before")
        for sock in sockets:
            await sock.shown("before")

        outage(fakes, room_id, "secret", "secret2", removed="x")
        for sock in removed:
            assert await closed_with(sock) == CLOSE_NO_ACCESS
        await keep.shown("secret2")
        post(fakes, room_id, "after")  # live, on the new stream
        await keep.shown("after")

        for sock in removed:
            assert sock.contents() == ["before"]
            assert sock.of("error") == []
        assert keep.contents() == ["before", "secret", "secret2", "after"]
        assert seqs(keep) == [1, 2, 3, 4]
        assert keep.of("closed") == []
    finally:
        await link.close()


async def test_a_message_arriving_before_a_sockets_rejoin_is_confirmed_comes_after_it_in_order(
    fakes: FakeServices, channel: grpc.aio.Channel
) -> None:
    room_id = fakes.rooms.add_room({"fast": MEMBER, "slow": MEMBER, ELSEWHERE.id: MEMBER})
    link = await open_link(channel, room_id)
    try:
        (_, fast), (_, slow) = await joined(link, "fast", "slow", direct=True)
        post(fakes, room_id, "before")
        await slow.shown("before")

        fakes.rooms.slow_joins.add("slow")  # re-joins are answered in order: fast's first
        fakes.rooms.joins_answered.clear()
        outage(fakes, room_id, "missed")
        assert await asyncio.to_thread(fakes.rooms.join_waiting.wait, WAIT_S)
        post(fakes, room_id, "live")  # on the new stream, after opened, before slow's joined
        # Written to both sockets in one go, as it was pushed: fast shows it, slow must not yet.
        await fast.shown("live")
        assert slow.contents() == ["before"]

        fakes.rooms.joins_answered.set()
        post(fakes, room_id, "after")
        for sock in (fast, slow):
            await sock.shown("after")
            assert sock.contents() == ["before", "missed", "live", "after"]
            assert seqs(sock) == [1, 2, 3, 4]
    finally:
        await link.close()


async def test_the_stream_stays_up_when_no_local_user_may_read_any_more(
    fakes: FakeServices, channel: grpc.aio.Channel
) -> None:
    room_id = fakes.rooms.add_room({"x": MEMBER, "y": MEMBER, ELSEWHERE.id: MEMBER})
    link = await open_link(channel, room_id)
    try:
        [(gone, gone_sock)] = await joined(link, "x", direct=True)
        outage(fakes, room_id, "secret", removed="x")
        assert await closed_with(gone_sock) == CLOSE_NO_ACCESS

        # The room is still there: another member joins through the same link, then x's
        # socket leaves (as its route does once closed).
        [(_, newcomer)] = await joined(link, "y", direct=True)
        link.remove(gone)
        post(fakes, room_id, "hello")
        await newcomer.shown("hello")
        assert newcomer.contents() == ["hello"]
        assert gone_sock.contents() == []
    finally:
        await link.close()


async def test_a_reply_that_ended_while_down_is_settled_though_the_first_sockets_user_was_removed(
    fakes: FakeServices, channel: grpc.aio.Channel
) -> None:
    room_id = fakes.rooms.add_room({"x": MEMBER, "keep": MEMBER, ELSEWHERE.id: MEMBER})
    link = await open_link(channel, room_id)
    try:
        (_, removed), (_, keep) = await joined(link, "x", "keep", direct=True)
        reply = fakes.rooms.start_reply(room_id, "bot", "thinking")
        await keep.shown("thinking")

        # Nothing new was posted: only the reply's final state is read back, as someone.
        fakes.rooms.opens.clear()
        fakes.rooms.cut(room_id)
        fakes.rooms.end_reply(room_id, reply.id, "done", broadcast=False)
        fakes.rooms.rooms[room_id].roles.pop("x")
        fakes.rooms.opens.set()
        assert await closed_with(removed) == CLOSE_NO_ACCESS
        await keep.shown("done")
        post(fakes, room_id, "after")
        await keep.shown("after")

        assert keep.contents() == ["thinking", "done", "after"]
        final = keep.of("message")[1]["message"]
        assert (final["id"], final["status"]) == (reply.id, "complete")
        assert removed.contents() == ["thinking"]
    finally:
        await link.close()


async def test_a_room_deleted_while_the_stream_was_down_closes_every_socket(
    fakes: FakeServices, channel: grpc.aio.Channel
) -> None:
    room_id = fakes.rooms.add_room({"a": MEMBER, "b": VIEWER})
    link = await open_link(channel, room_id)
    try:
        sockets = [sock for _, sock in await joined(link, "a", "b", direct=True)]
        fakes.rooms.delete_room(room_id)  # the new stream's open is refused NOT_FOUND
        for sock in sockets:
            assert await closed_with(sock) == CLOSE_NO_ACCESS
    finally:
        await link.close()
