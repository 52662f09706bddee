"""A room's RoomSession stream that reconnects by itself, with backoff.

Each new stream starts from scratch: its first requests rebuild the room service's view of
this gateway (`opening_requests`: members, then unanswered sends). What to do with the room's
events, and when a stream is lost, is the subclass's (ws/link.py). Only the stream's own status
says the room is gone: a call the subclass makes while handling an event (a history read) that
fails restarts the stream, whatever its status.
"""

from __future__ import annotations

import asyncio
import logging
import random
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator

import grpc

from services.common.pb import room_pb2 as pb
from services.common.pb.room_pb2_grpc import RoomServiceStub

logger = logging.getLogger(__name__)


class HandlerCallFailed(Exception):
    """A call made while handling one of the stream's events failed (not the stream itself)."""

    def __init__(self, code: grpc.StatusCode) -> None:
        super().__init__(code.name)
        self.code = code


class RoomStream(ABC):
    """Holds one room's stream open from construction until `close`."""

    def __init__(self, room_id: str, stub: RoomServiceStub, *, gateway_id: str) -> None:
        self.room_id = room_id
        self.stub = stub
        self.gateway_id = gateway_id
        self.connected = False
        self._was_up = False
        self._outbox: asyncio.Queue[pb.SessionRequest | None] = asyncio.Queue()
        # Runs from the loop's next turn, so a subclass's __init__ completes before it.
        self._task = asyncio.create_task(self._run(), name=f"room-link-{room_id}")

    @abstractmethod
    def opening_requests(self) -> list[pb.SessionRequest]:
        """What a new stream sends first, after its open: the state it must rebuild."""

    @abstractmethod
    async def on_event(self, event: pb.SessionEvent) -> None:
        """One event of the stream, in order; the next waits for it."""

    @abstractmethod
    def stream_lost(self) -> None:
        """A stream the room service had opened ended."""

    @abstractmethod
    def room_gone(self) -> None:
        """The room service does not know the room (NOT_FOUND): the stream stops for good."""

    def _request(self, request: pb.SessionRequest) -> None:
        if self.connected:
            self._outbox.put_nowait(request)
        # Otherwise the next stream's opening requests re-announce members and pending sends.

    def _opened(self) -> None:
        """The room service opened this stream: losing it now restarts the backoff."""
        self._was_up = True

    async def _run(self) -> None:
        backoff = 0.05
        while True:
            # Our own request iterator, ended below: grpc's task that consumes it then ends too,
            # even when the call is already over (kill -9), instead of being destroyed pending.
            call = self.stub.RoomSession(_requests(self._open_outbox()))
            try:
                await self._session(call)
                logger.info("room stream ended", extra={"room_id": self.room_id})
            except asyncio.CancelledError:
                call.cancel()
                raise
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.NOT_FOUND:
                    self.room_gone()
                    return
                logger.info(
                    "room stream lost; reconnecting",
                    extra={"room_id": self.room_id, "grpc_code": exc.code().name},
                )
            except HandlerCallFailed as exc:
                logger.warning(
                    "room event could not be handled; reconnecting",
                    extra={"room_id": self.room_id, "grpc_code": exc.code.name},
                )
            except Exception:
                logger.exception(
                    "room stream failed; reconnecting", extra={"room_id": self.room_id}
                )
            finally:
                self.connected = False
                self._outbox.put_nowait(None)
                call.cancel()
            if self._was_up:
                self.stream_lost()
            backoff = 0.05 if self._was_up else min(backoff * 2, 2.0)
            await asyncio.sleep(backoff * (0.5 + random.random()))

    def _open_outbox(self) -> asyncio.Queue[pb.SessionRequest | None]:
        """A new stream's requests, starting with its state rebuilt from scratch. The snapshot
        and the switch to the new outbox happen with no await between them, so every request
        goes out exactly once."""
        self._was_up = False
        self._outbox = asyncio.Queue()
        self._outbox.put_nowait(
            pb.SessionRequest(open=pb.SessionOpen(room_id=self.room_id, gateway_id=self.gateway_id))
        )
        for request in self.opening_requests():
            self._outbox.put_nowait(request)
        self.connected = True
        return self._outbox

    async def _session(self, call: grpc.aio.StreamStreamCall) -> None:
        async for event in call:
            try:
                await self.on_event(event)
            except grpc.aio.AioRpcError as exc:
                # Another call's status (a history read's NOT_FOUND is its actor's, not the room's).
                raise HandlerCallFailed(exc.code()) from exc

    def _stop(self) -> None:
        """Stop the stream without waiting for it (nobody is left to serve)."""
        self._task.cancel()

    async def close(self) -> None:
        """Stop the stream and wait until it has (gateway shutdown)."""
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def _requests(
    outbox: asyncio.Queue[pb.SessionRequest | None],
) -> AsyncIterator[pb.SessionRequest]:
    """A stream's requests, until None."""
    while (request := await outbox.get()) is not None:
        yield request
