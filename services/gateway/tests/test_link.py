"""RoomLink against the fake room service: confirmed joins, bounded re-sends, sockets that go."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from services.common.pb import room_pb2 as pb
from services.gateway.tests.fakes import FakeServices
from services.gateway.tests.link_support import MEMBER, VIEWER, WAIT_S, open_link, socket_of
from services.gateway.ws.link import JoinRefused
from services.gateway.ws.pending import MAX_SEND_ATTEMPTS

pytestmark = pytest.mark.unit


async def test_a_join_is_confirmed_with_its_role_or_refused(
    fakes: FakeServices, channel: grpc.aio.Channel
) -> None:
    room_id = fakes.rooms.add_room({"v": VIEWER}, access=pb.ROOM_ACCESS_OPEN)
    fakes.rooms.deny_joins.add("banned")
    link = await open_link(channel, room_id)
    try:
        newcomer, _ = socket_of("new")
        viewer, _ = socket_of("v")
        banned, _ = socket_of("banned")
        for conn in (newcomer, viewer, banned):
            link.add(conn)
        async with asyncio.timeout(WAIT_S):
            assert await link.joined(newcomer) == MEMBER  # an open room's reader, now a member
            assert fakes.rooms.rooms[room_id].roles["new"] == MEMBER  # committed before this
            assert await link.joined(viewer) == VIEWER
            with pytest.raises(JoinRefused) as refused:
                await link.joined(banned)
        assert refused.value.code == "permission_denied"
    finally:
        await link.close()


async def test_joins_are_confirmed_again_after_a_reconnect(
    fakes: FakeServices, channel: grpc.aio.Channel
) -> None:
    room_id = fakes.rooms.add_room({"a": MEMBER, "b": MEMBER})
    link = await open_link(channel, room_id)
    try:
        first, _ = socket_of("a")
        link.add(first)
        async with asyncio.timeout(WAIT_S):
            await link.joined(first)
        for stream in list(fakes.rooms.streams[room_id]):
            stream.put(None)
        second, sock = socket_of("b")
        link.add(second)  # while the link reconnects (or just after)
        async with asyncio.timeout(WAIT_S):
            assert await link.joined(second) == MEMBER
            assert await link.joined(first) == MEMBER
        link.send(second, "hello", "m1", None)
        assert (await sock.wait_for("ack"))["client_msg_id"] == "m1"
    finally:
        await link.close()


async def test_a_send_that_keeps_breaking_the_stream_is_given_up_with_an_error(
    fakes: FakeServices, channel: grpc.aio.Channel
) -> None:
    room_id = fakes.rooms.add_room({"a": MEMBER, "b": MEMBER})
    fakes.rooms.fail_sends.add("poison")
    link = await open_link(channel, room_id)
    try:
        sender, sender_sock = socket_of("a")
        other, other_sock = socket_of("b")
        for conn in (sender, other):
            link.add(conn)
            async with asyncio.timeout(WAIT_S):
                await link.joined(conn)
        link.send(sender, "poison", "p1", None)

        error = await sender_sock.wait_for("error")
        assert (error["code"], error["client_msg_id"]) == ("unavailable", "p1")
        link.send(other, "fine", "m1", None)
        assert (await other_sock.wait_for("ack"))["client_msg_id"] == "m1"
        # One stream, then a re-send on each new one, up to the bound; then no more.
        assert fakes.rooms.sessions_opened == MAX_SEND_ATTEMPTS + 1
    finally:
        await link.close()


async def test_a_gone_sockets_sends_are_not_sent_again(
    fakes: FakeServices, channel: grpc.aio.Channel
) -> None:
    room_id = fakes.rooms.add_room({"a": MEMBER, "b": MEMBER})
    fakes.rooms.fail_sends.add("poison")
    link = await open_link(channel, room_id)
    try:
        stayer, sock = socket_of("a")
        leaver, _ = socket_of("b")
        for conn in (stayer, leaver):
            link.add(conn)
            async with asyncio.timeout(WAIT_S):
                await link.joined(conn)
        link.send(leaver, "poison", "p1", None)  # in flight as it leaves: the stream breaks once
        link.remove(leaver)
        link.send(stayer, "after", "m1", None)
        assert (await sock.wait_for("ack"))["client_msg_id"] == "m1"
        assert fakes.rooms.sessions_opened == 2
    finally:
        await link.close()
