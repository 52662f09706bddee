"""The RoomSession protocol: one bidi stream per room per gateway, carrying its members.

The gateway opens the stream for a room, then joins and leaves its sockets on it and sends their
requests (send, typing, stop, autopilot); the stream carries back, in commit order, every event of
the room. A request that fails fails alone (its connection is told, by `conn_id`); the stream
carries the whole room and goes on. docs/architecture.md has the sequence.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator

import grpc

from services.common.errors import (
    ChimeraError,
    InvalidArgument,
    PermissionDenied,
    abort,
    error_code,
    error_name,
)
from services.common.pb import room_pb2 as pb
from services.room.access import VIEWERS_CANNOT_PILOT, VIEWERS_CANNOT_STOP, can_send
from services.room.convert import ROLES
from services.room.hub import Conn, GatewayStream, RoomHub, StreamClosed
from services.room.orchestrator.autopilot import Autopilot
from services.room.orchestrator.turns import Orchestrator
from services.room.rooms import Rooms

logger = logging.getLogger(__name__)

_STATUS = {code.name.lower(): code for code in grpc.StatusCode}
JOIN_DENIED = "Room not found or access denied."
INTERNAL_MESSAGE = "Something went wrong on the server; try again."


def _refuse(stream: GatewayStream, conn_id: str, code: str, message: str) -> None:
    """Tell one connection of `stream` that its request was refused."""
    error = pb.RequestError(conn_id=conn_id, code=code, message=message)
    stream.send(pb.SessionEvent(error=error))


def _failed(stream: GatewayStream, request: pb.SessionRequest) -> None:
    """Tell the connection behind `request` that it failed (an unexpected error, logged)."""
    kind = request.WhichOneof("kind")
    if kind == "send":
        send = request.send
        result = pb.SendResult(
            conn_id=send.conn_id,
            client_msg_id=send.client_msg_id,
            error_code="internal",
            error_message=INTERNAL_MESSAGE,
        )
        stream.send(pb.SessionEvent(send_result=result))
    elif kind in ("join", "interrupt", "autopilot"):
        conn_id = getattr(request, kind).conn_id
        _refuse(stream, conn_id, "unavailable" if kind == "join" else "internal", INTERNAL_MESSAGE)


class RoomSessions:
    """Every RoomSession stream of this room service."""

    def __init__(
        self,
        rooms: Rooms,
        hub: RoomHub,
        orchestrator: Orchestrator,
        autopilot: Autopilot,
        *,
        queue_size: int,
    ) -> None:
        self.rooms = rooms
        self.hub = hub
        self.timeline = rooms.timeline
        self.orchestrator = orchestrator
        self.autopilot = autopilot
        self.queue_size = queue_size

    async def serve(
        self, request_iterator: AsyncIterator[pb.SessionRequest], context: grpc.aio.ServicerContext
    ) -> None:
        """A gateway's stream for one room: its members, their requests, the room's events.

        A coroutine writing with `context.write`, not a generator: however the call ends (the
        gateway cancels it while an event is being written, or while the room is being read),
        the cancellation lands in this frame and the stream is detached, so presence converges.
        """
        first = await anext(aiter(request_iterator), None)
        if first is None or first.WhichOneof("kind") != "open":
            await abort(context, grpc.StatusCode.INVALID_ARGUMENT, "first request must be open")
            return
        room_id = first.open.room_id
        stream = GatewayStream(room_id, first.open.gateway_id, self.queue_size)
        pump: asyncio.Task[None] | None = None
        try:
            try:
                await self.timeline.attach(
                    stream,
                    functools.partial(self.rooms.snapshot, room_id),
                    functools.partial(self.orchestrator.streaming, room_id),
                    functools.partial(self.orchestrator.speaking, room_id),
                )
            except ChimeraError as exc:
                await abort(context, exc.code, exc.message)
                return
            stream.send(pb.SessionEvent(autopilot_status=self.autopilot.status(room_id)))
            logger.info(
                "session opened", extra={"room_id": room_id, "gateway_id": stream.gateway_id}
            )
            pump = asyncio.create_task(self._pump(request_iterator, stream))
            while not isinstance(event := await stream.queue.get(), StreamClosed):
                await context.write(event)
            if event.code != "ok":
                context.set_code(_STATUS[event.code])
                context.set_details(event.details)
        finally:
            # Detached before any await: a second cancellation (grpc cancels the call's task
            # while a failed write is unwinding) must not skip it and leave ghosts online.
            if pump is not None:
                pump.cancel()
            if self.hub.detach(stream) and pump is not None:
                logger.info(
                    "session closed", extra={"room_id": room_id, "gateway_id": stream.gateway_id}
                )
            if pump is not None:
                await asyncio.gather(pump, return_exceptions=True)

    async def _pump(
        self, requests: AsyncIterator[pb.SessionRequest], stream: GatewayStream
    ) -> None:
        """Handle a stream's requests in order: one connection's sends keep their order.

        A request that fails fails alone (its connection is told); the stream carries the
        whole room and goes on.
        """
        try:
            async for request in requests:
                async with stream.busy:
                    if stream.closed:
                        return
                    try:
                        await self.handle(stream, request)
                    except Exception:
                        logger.exception(
                            "session request failed",
                            extra={"room_id": stream.room_id, "kind": request.WhichOneof("kind")},
                        )
                        _failed(stream, request)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("session stream failed", extra={"room_id": stream.room_id})
            stream.close("internal", "internal error")
        finally:
            # However the requests end (finished, cancelled, a read that raises), the stream
            # ends with them, so RoomSession stops waiting on its queue and detaches.
            stream.close("ok", "gateway closed the stream")

    async def handle(self, stream: GatewayStream, request: pb.SessionRequest) -> None:
        """One request of a stream (a join, leave, typing, stop, autopilot change or send)."""
        kind = request.WhichOneof("kind")
        if kind == "join":
            await self._join(stream, request.join)
        elif kind == "leave":
            self.hub.leave(stream, request.leave.conn_id)
        elif kind == "typing":
            conn = stream.members.get(request.typing.conn_id)
            if conn is not None and can_send(conn.role):
                self.hub.set_typing(stream.room_id, conn.user, request.typing.active)
        elif kind == "interrupt":
            self._interrupt(stream, request.interrupt)
        elif kind == "autopilot":
            await self._autopilot(stream, request.autopilot)
        elif kind == "send":
            stream.send(pb.SessionEvent(send_result=await self._send(stream, request.send)))

    async def _join(self, stream: GatewayStream, join: pb.MemberJoin) -> None:
        """Check the user may read the room (a reader of an open room becomes a member)."""
        # Under the room lock: a role change cannot fall between the check and the cache.
        async with self.timeline.hold(stream.room_id):
            try:
                view = await self.rooms.require_member(join.user, stream.room_id)
            except ChimeraError:
                _refuse(stream, join.conn_id, "permission_denied", JOIN_DENIED)
                return
            assert view.role is not None
            conn = Conn(user=join.user, role=view.role, guest=view.actor.kind == "guest")
            self.hub.join(stream, join.conn_id, conn)
            # Committed (an open room's new member too): the gateway may welcome the socket now.
            joined = pb.MemberJoined(conn_id=join.conn_id, role=ROLES[view.role])
            stream.send(pb.SessionEvent(joined=joined))

    def _interrupt(self, stream: GatewayStream, interrupt: pb.InterruptReply) -> None:
        conn = stream.members.get(interrupt.conn_id)
        if conn is None or not can_send(conn.role):
            code, message = "permission_denied", VIEWERS_CANNOT_STOP
        elif self.orchestrator.request_stop(stream.room_id, interrupt.message_id):
            return
        else:
            code, message = "not_found", "That reply is not streaming."
        _refuse(stream, interrupt.conn_id, code, message)

    async def _autopilot(self, stream: GatewayStream, request: pb.AutopilotRequest) -> None:
        """A member switched the autopilot or changed it; everyone sees the room change."""
        conn = stream.members.get(request.conn_id)
        try:
            if conn is None or not can_send(conn.role):
                raise PermissionDenied(VIEWERS_CANNOT_PILOT)
            await self.autopilot.update(stream.room_id, conn.user, request.patch)
        except ChimeraError as exc:
            _refuse(stream, request.conn_id, error_code(exc.code), exc.message)

    async def _send(self, stream: GatewayStream, send: pb.SendMessage) -> pb.SendResult:
        result = pb.SendResult(conn_id=send.conn_id, client_msg_id=send.client_msg_id)
        conn = stream.members.get(send.conn_id)
        # A live connection's role is known; a retried send from a socket that is gone is checked.
        role = conn.role if conn is not None and conn.user.id == send.author.id else None
        try:
            if not send.author.id:
                raise InvalidArgument("send needs an author")
            message, duplicate = await self.rooms.post(
                stream.room_id,
                send.author,
                send.content,
                send.client_msg_id,
                send.reply_to,
                role=role,
            )
        except ChimeraError as exc:
            result.error_code, result.error_message = error_name(exc), exc.message
            return result
        result.message.CopyFrom(message)
        result.duplicate = duplicate
        return result

    async def close(self, timeout: float) -> None:
        """Shutdown: let each stream finish its in-flight request, then end it UNAVAILABLE."""

        async def close(stream: GatewayStream) -> None:
            try:
                async with asyncio.timeout(timeout):
                    await stream.busy.acquire()
            except TimeoutError:
                logger.warning("stream still busy at shutdown", extra={"room_id": stream.room_id})
            stream.close("unavailable", "room service is shutting down")

        await asyncio.gather(*(close(s) for s in self.hub.streams()))
