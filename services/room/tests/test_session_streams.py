"""RoomSession streams as grpc.aio drives them: a failed request fails alone, an ended call detaches."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from typing import Any, cast

import grpc
import pytest

from services.common.pb import room_pb2 as pb
from services.room.servicer import RoomServicer
from services.room.tests.conftest import World, room_servicer

pytestmark = pytest.mark.unit

WAIT_S = 10.0
BROKEN = "this content breaks the store"


class FakeOrchestrator:
    """No replies stream, none can be stopped."""

    def streaming(self, room_id: str) -> list[pb.Message]:
        return []

    def speaking(self, room_id: str) -> list[pb.SpeechEvent]:
        return []

    def request_stop(self, room_id: str, message_id: str) -> bool:
        return False


@pytest.fixture
def servicer(world: World) -> RoomServicer:
    return room_servicer(world, FakeOrchestrator())


class FakeContext:
    """A server call's context: what was written, its status; `stall` holds every write."""

    def __init__(self) -> None:
        self.events: asyncio.Queue[pb.SessionEvent] = asyncio.Queue()
        self.stall = asyncio.Event()
        self.stalled = asyncio.Event()
        self.code: grpc.StatusCode | None = None

    async def write(self, event: pb.SessionEvent) -> None:
        if self.stall.is_set():
            self.stalled.set()
            await asyncio.Future()  # the client's window is full
        self.events.put_nowait(event)

    def set_code(self, code: grpc.StatusCode) -> None:
        self.code = code

    def set_details(self, details: str) -> None:
        pass

    async def abort(self, code: grpc.StatusCode, details: str = "", metadata: Any = ()) -> None:
        raise AssertionError(f"aborted: {code} {details}")

    async def next(self, kind: str) -> pb.SessionEvent:
        """The next written event of `kind` (others are skipped)."""
        async with asyncio.timeout(WAIT_S):
            while (event := await self.events.get()).WhichOneof("kind") != kind:
                pass
        return event


class Call:
    """One RoomSession call, run the way grpc.aio runs a stream-stream handler."""

    def __init__(self, servicer: RoomServicer, room_id: str) -> None:
        # None ends the requests; an exception is raised from them, as grpc's reader may.
        self.requests: asyncio.Queue[pb.SessionRequest | BaseException | None] = asyncio.Queue()
        self.context = FakeContext()
        self.put(open=pb.SessionOpen(room_id=room_id, gateway_id="gw"))
        self.task = asyncio.create_task(self._serve(servicer))

    async def _incoming(self) -> AsyncIterator[pb.SessionRequest]:
        while (request := await self.requests.get()) is not None:
            if isinstance(request, BaseException):
                raise request
            yield request

    async def _serve(self, servicer: RoomServicer) -> None:
        context = cast(grpc.aio.ServicerContext, self.context)
        handler: Any = servicer.RoomSession(self._incoming(), context)
        if inspect.isasyncgen(handler):  # grpc.aio writes what a generator yields
            async for event in handler:
                await self.context.write(cast(pb.SessionEvent, event))
        else:
            await handler

    def put(self, **kind: Any) -> None:
        self.requests.put_nowait(pb.SessionRequest(**kind))

    def send(self, conn_id: str, user: pb.User, content: str, cmid: str) -> None:
        send = pb.SendMessage(conn_id=conn_id, author=user, content=content, client_msg_id=cmid)
        self.put(send=send)

    async def result(self) -> pb.SendResult:
        return (await self.context.next("send_result")).send_result

    async def cancel(self) -> None:
        """The gateway cancels the call (its last socket left, or it shut down)."""
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


@pytest.fixture
def broken_store(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Storing BROKEN fails as no validation foresaw (PostgreSQL refusing the row, say)."""
    post_message = world.rooms.repo.post_message

    async def failing(room_id: str, author: Any, content: str, **kwargs: Any) -> Any:
        if content == BROKEN:
            raise RuntimeError("the database refused the row")
        return await post_message(room_id, author, content, **kwargs)

    monkeypatch.setattr(world.rooms.repo, "post_message", failing)


@pytest.mark.usefixtures("broken_store")
async def test_a_send_the_store_refuses_fails_alone_and_the_stream_goes_on(
    world: World, servicer: RoomServicer
) -> None:
    alice, bob = await world.user("alice"), await world.user("bob")
    room = await world.rooms.create(alice, "Plans", access=pb.ROOM_ACCESS_OPEN)
    call = Call(servicer, room.id)
    await call.context.next("opened")
    call.put(join=pb.MemberJoin(conn_id="a", user=alice))
    call.put(join=pb.MemberJoin(conn_id="b", user=bob))

    call.send("a", alice, BROKEN, "m1")
    failed = await call.result()
    assert (failed.conn_id, failed.client_msg_id, failed.error_code) == ("a", "m1", "internal")
    assert "database" not in failed.error_message  # generic, nothing of the cause

    call.send("b", bob, "still here?", "m2")
    acked = await call.result()
    assert (acked.client_msg_id, acked.error_code, acked.message.content) == (
        "m2",
        "",
        "still here?",
    )
    assert not call.task.done()
    assert call.context.code is None  # the stream was not ended
    await call.cancel()


async def test_a_call_cancelled_while_an_event_is_written_takes_its_members_offline(
    world: World, servicer: RoomServicer
) -> None:
    alice, bob = await world.user("alice"), await world.user("bob")
    room = await world.rooms.create(alice, "Plans", access=pb.ROOM_ACCESS_OPEN)
    call = Call(servicer, room.id)
    await call.context.next("opened")
    call.put(join=pb.MemberJoin(conn_id="a", user=alice))
    await call.context.next("presence")
    assert world.hub.online_count(room.id) == 1

    call.context.stall.set()  # the next event's write never completes ...
    call.put(join=pb.MemberJoin(conn_id="b", user=bob))
    async with asyncio.timeout(WAIT_S):
        await call.context.stalled.wait()
    await call.cancel()  # ... and the gateway hangs up meanwhile

    assert world.hub.online_count(room.id) == 0
    assert world.hub.streams() == []


async def test_a_call_cancelled_while_the_room_is_read_leaves_nothing_behind(
    world: World, servicer: RoomServicer, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = await world.user("alice")
    room = await world.rooms.create(alice, "Plans")
    reading = asyncio.Event()

    async def slow_snapshot(room_id: str) -> pb.Room:
        reading.set()
        await asyncio.Future()
        raise AssertionError("unreachable")

    monkeypatch.setattr(world.rooms, "snapshot", slow_snapshot)
    call = Call(servicer, room.id)
    async with asyncio.timeout(WAIT_S):
        await reading.wait()
    await call.cancel()

    assert world.hub.streams() == []
    assert not world.timeline.busy(room.id)


async def test_a_second_cancellation_while_the_call_unwinds_still_takes_its_members_offline(
    world: World, servicer: RoomServicer
) -> None:
    alice = await world.user("alice")
    room = await world.rooms.create(alice, "Plans", access=pb.ROOM_ACCESS_OPEN)
    call = Call(servicer, room.id)
    await call.context.next("opened")
    call.context.stall.set()
    call.put(join=pb.MemberJoin(conn_id="a", user=alice))
    async with asyncio.timeout(WAIT_S):
        await call.context.stalled.wait()

    call.task.cancel()  # the gateway hangs up ...
    await asyncio.sleep(0)  # one step: the call is now unwinding, waiting for its reader
    call.task.cancel()  # ... and grpc cancels the call's task as well
    await asyncio.gather(call.task, return_exceptions=True)

    assert world.hub.online_count(room.id) == 0
    assert world.hub.streams() == []


async def test_requests_that_end_by_raising_end_the_call_and_its_presence(
    world: World, servicer: RoomServicer
) -> None:
    alice = await world.user("alice")
    room = await world.rooms.create(alice, "Plans", access=pb.ROOM_ACCESS_OPEN)
    call = Call(servicer, room.id)
    await call.context.next("opened")
    call.put(join=pb.MemberJoin(conn_id="a", user=alice))
    await call.context.next("presence")

    call.requests.put_nowait(asyncio.CancelledError())  # the reader gave up; the call was not
    async with asyncio.timeout(WAIT_S):
        await call.task

    assert world.hub.online_count(room.id) == 0
    assert world.hub.streams() == []
