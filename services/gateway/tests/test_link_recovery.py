"""RoomLink when its stream breaks or misses events: reconnect and backfill, re-sends, gaps."""

from __future__ import annotations

import grpc
import pytest

from services.common.pb import room_pb2 as pb
from services.gateway.tests.fakes import FakeServices
from services.gateway.tests.link_support import MEMBER, joined, open_link, socket_of
from services.gateway.ws.history import HISTORY_PAGE
from services.gateway.ws.protocol import encode

pytestmark = pytest.mark.unit

ELSEWHERE = pb.User(id="c", name="c")  # a member posting through another gateway


def room_of(fakes: FakeServices, *user_ids: str) -> str:
    return fakes.rooms.add_room(dict.fromkeys([*user_ids, ELSEWHERE.id], MEMBER))


async def test_messages_posted_while_the_stream_was_down_reach_each_member_once_in_order(
    fakes: FakeServices, channel: grpc.aio.Channel
) -> None:
    room_id = room_of(fakes, "a", "b")
    link = await open_link(channel, room_id)
    try:
        sockets = [sock for _, sock in await joined(link, "a", "b")]
        fakes.rooms.post(room_id, ELSEWHERE, "before")
        for sock in sockets:
            await sock.shown("before")

        fakes.rooms.opens.clear()  # the room service restarts: the link cannot get back yet
        fakes.rooms.cut(room_id)
        for text in ("one", "two", "three"):
            fakes.rooms.post(room_id, ELSEWHERE, text)  # no stream hears these
        fakes.rooms.opens.set()
        for sock in sockets:
            await sock.shown("three")
        fakes.rooms.post(room_id, ELSEWHERE, "after")  # live again, on the new stream

        for sock in sockets:
            await sock.shown("after")
            # Backfilled from the last seq seen: nothing shown twice, nothing out of order.
            assert sock.contents() == ["before", "one", "two", "three", "after"]
            assert [f["message"]["seq"] for f in sock.of("message")] == [1, 2, 3, 4, 5]
        assert fakes.rooms.sessions_opened == 2
    finally:
        await link.close()


async def test_a_send_whose_answer_was_lost_is_sent_again_once_and_acknowledged_once(
    fakes: FakeServices, channel: grpc.aio.Channel
) -> None:
    room_id = room_of(fakes, "a", "b")
    fakes.rooms.lose_answers.add("hello")  # stored and broadcast, then the stream breaks
    link = await open_link(channel, room_id)
    try:
        (sender, sender_sock), (_, other_sock) = await joined(link, "a", "b")
        link.send(sender, "hello", "m1", None)
        ack = await sender_sock.wait_for("ack")
        shown = sender_sock.of("message")[0]["message"]
        assert (ack["client_msg_id"], ack["message_id"], ack["seq"]) == ("m1", shown["id"], 1)
        assert ack["duplicate"] is True  # the room service recognised the re-send

        # Once answered it is done: a later reconnect does not send it again.
        fakes.rooms.cut(room_id)
        fakes.rooms.post(room_id, ELSEWHERE, "meanwhile")
        await sender_sock.shown("meanwhile")
        link.send(sender, "next", "m2", None)  # answered after anything sent before it
        await sender_sock.wait_until(lambda: len(sender_sock.of("ack")) >= 2)

        assert [a["client_msg_id"] for a in sender_sock.of("ack")] == ["m1", "m2"]
        assert [s.client_msg_id for s in fakes.rooms.sends] == ["m1", "m1", "m2"]
        for sock in (sender_sock, other_sock):
            await sock.shown("next")
            assert sock.contents() == ["hello", "meanwhile", "next"]
        assert sender_sock.of("error") == []
    finally:
        await link.close()


async def test_a_send_made_as_the_stream_breaks_is_stored_shown_and_acknowledged_once(
    fakes: FakeServices, channel: grpc.aio.Channel
) -> None:
    room_id = room_of(fakes, "a")
    link = await open_link(channel, room_id)
    try:
        [(sender, sock)] = await joined(link, "a")
        fakes.rooms.opens.clear()
        fakes.rooms.cut(room_id)
        # Before the link notices: the old stream may still take it (its answer then lost),
        # or not; either way it is pending, and the next stream sends it again.
        link.send(sender, "as it broke", "m1", None)
        fakes.rooms.opens.set()
        ack = await sock.wait_for("ack")
        link.send(sender, "next", "m2", None)
        await sock.wait_until(lambda: len(sock.of("ack")) >= 2)

        shown = sock.of("message")[0]["message"]
        assert (ack["client_msg_id"], ack["message_id"], ack["seq"]) == ("m1", shown["id"], 1)
        assert [a["client_msg_id"] for a in sock.of("ack")] == ["m1", "m2"]
        await sock.shown("next")
        assert sock.contents() == ["as it broke", "next"]
        assert [m.content for m in fakes.rooms.rooms[room_id].messages] == ["as it broke", "next"]
    finally:
        await link.close()


async def test_a_message_missing_from_the_live_stream_is_filled_in_before_the_next(
    fakes: FakeServices, channel: grpc.aio.Channel
) -> None:
    room_id = room_of(fakes, "a")
    link = await open_link(channel, room_id)
    try:
        [(_, sock)] = await joined(link, "a")
        fakes.rooms.post(room_id, ELSEWHERE, "first")
        fakes.rooms.post(room_id, ELSEWHERE, "lost", broadcast=False)
        fakes.rooms.post(room_id, ELSEWHERE, "third")

        await sock.shown("third")
        assert sock.contents() == ["first", "lost", "third"]
        assert [f["message"]["seq"] for f in sock.of("message")] == [1, 2, 3]
    finally:
        await link.close()


async def test_a_gap_longer_than_a_history_page_is_filled_completely(
    fakes: FakeServices, channel: grpc.aio.Channel
) -> None:
    room_id = room_of(fakes, "a")
    link = await open_link(channel, room_id)
    try:
        conn, sock = socket_of("a", max_queue=2 * HISTORY_PAGE)
        link.add(conn)
        await link.joined(conn)
        missed = [f"m{n}" for n in range(HISTORY_PAGE + 50)]
        for text in missed:
            fakes.rooms.post(room_id, ELSEWHERE, text, broadcast=False)
        fakes.rooms.post(room_id, ELSEWHERE, "live")

        await sock.shown("live")
        assert sock.contents() == [*missed, "live"]
    finally:
        await link.close()


async def test_a_socket_that_left_gets_nothing_more(
    fakes: FakeServices, channel: grpc.aio.Channel
) -> None:
    room_id = room_of(fakes, "a", "b")
    link = await open_link(channel, room_id)
    try:
        (_, stayer_sock), (leaver, leaver_sock) = await joined(link, "a", "b")
        fakes.rooms.post(room_id, ELSEWHERE, "before")
        await leaver_sock.shown("before")

        link.remove(leaver)
        fakes.rooms.post(room_id, ELSEWHERE, "after")
        await stayer_sock.shown("after")
        # Whatever the link pushed to the leaver before now is in its queue ahead of this.
        leaver.push(encode("marker"))
        await leaver_sock.wait_for("marker")
        assert leaver_sock.contents() == ["before"]
        assert stayer_sock.contents() == ["before", "after"]
    finally:
        await link.close()
