"""RoomStream: only the stream's own NOT_FOUND means the room is gone."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from services.common.pb import room_pb2 as pb
from services.common.pb.room_pb2_grpc import RoomServiceStub
from services.gateway.tests.fakes import FakeServices
from services.gateway.tests.link_support import MEMBER, WAIT_S
from services.gateway.ws.stream import RoomStream

pytestmark = pytest.mark.unit


class Probe(RoomStream):
    """A stream that, handling its first `opened`, reads history as someone who may not."""

    def __init__(self, room_id: str, stub: RoomServiceStub) -> None:
        self.opened = 0
        self.gone = False
        self.settled = asyncio.Event()  # opened a second time, or given up as gone
        super().__init__(room_id, stub, gateway_id="gw")

    def opening_requests(self) -> list[pb.SessionRequest]:
        return []

    async def on_event(self, event: pb.SessionEvent) -> None:
        if event.WhichOneof("kind") != "opened":
            return
        self._opened()
        self.opened += 1
        if self.opened > 1:
            self.settled.set()
            return
        stranger = pb.User(id="stranger", name="stranger")
        request = pb.LoadHistoryRequest(room_id=self.room_id, after_seq=0, actor=stranger)
        await self.stub.LoadHistory(request, timeout=WAIT_S)  # NOT_FOUND: not theirs to read

    def stream_lost(self) -> None:
        pass

    def room_gone(self) -> None:
        self.gone = True
        self.settled.set()


async def test_a_not_found_from_a_call_made_while_handling_an_event_reconnects(
    fakes: FakeServices, channel: grpc.aio.Channel
) -> None:
    room_id = fakes.rooms.add_room({"a": MEMBER})
    stream = Probe(room_id, RoomServiceStub(channel))
    try:
        async with asyncio.timeout(WAIT_S):
            await stream.settled.wait()
        assert (stream.gone, stream.opened) == (False, 2)
    finally:
        await stream.close()


async def test_the_streams_own_not_found_stops_it_for_good(
    fakes: FakeServices, channel: grpc.aio.Channel
) -> None:
    room_id = fakes.rooms.add_room({"a": MEMBER})
    fakes.rooms.delete_room(room_id)
    stream = Probe(room_id, RoomServiceStub(channel))
    try:
        async with asyncio.timeout(WAIT_S):
            await stream.settled.wait()
        assert (stream.gone, stream.opened) == (True, 0)
    finally:
        await stream.close()
