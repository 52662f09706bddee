"""The RoomService gRPC servicer: wire types in, typed errors mapped to status out."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc

from services.common.errors import ChimeraError, InvalidArgument, abort, error_code
from services.common.pb import room_pb2 as pb
from services.common.pb import room_pb2_grpc
from services.room.hub import GatewayStream, RoomHub, StreamClosed
from services.room.orchestrator.autopilot import Autopilot, validate_patch
from services.room.orchestrator.turns import Orchestrator
from services.room.rooms import Rooms

logger = logging.getLogger(__name__)

T = TypeVar("T")
_STATUS = {code.name.lower(): code for code in grpc.StatusCode}


def _unary(
    method: Callable[[Any, Any, grpc.aio.ServicerContext], Awaitable[T]],
) -> Callable[[Any, Any, grpc.aio.ServicerContext], Awaitable[T]]:
    """Map typed errors to gRPC status; anything else is INTERNAL with a generic message."""

    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> T:
        try:
            return await method(self, request, context)
        except ChimeraError as exc:
            await abort(context, exc.code, exc.message)
        except Exception:
            logger.exception("unhandled error", extra={"rpc": method.__name__})
            await abort(context, grpc.StatusCode.INTERNAL, "internal error")
        raise AssertionError("unreachable")  # context.abort always raises

    return wrapper


class RoomServicer(room_pb2_grpc.RoomServiceServicer):
    """Serves rooms, history and live RoomSession streams."""

    def __init__(
        self,
        rooms: Rooms,
        hub: RoomHub,
        orchestrator: Orchestrator,
        *,
        session_queue_size: int,
        autopilot: Autopilot,
    ) -> None:
        self.rooms = rooms
        self.hub = hub
        self.orchestrator = orchestrator
        self.autopilot = autopilot
        self.session_queue_size = session_queue_size
        self.stopping = False

    @_unary
    async def CreateRoom(
        self, request: pb.CreateRoomRequest, context: grpc.aio.ServicerContext
    ) -> pb.Room:
        return await self.rooms.create(request.actor, request.name, request.personas)

    @_unary
    async def GetRoom(
        self, request: pb.GetRoomRequest, context: grpc.aio.ServicerContext
    ) -> pb.Room:
        return await self.rooms.get(request.room_id)

    @_unary
    async def ListRooms(
        self, request: pb.ListRoomsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListRoomsResponse:
        return pb.ListRoomsResponse(rooms=await self.rooms.list_rooms(request.limit))

    @_unary
    async def UpdateRoom(
        self, request: pb.UpdateRoomRequest, context: grpc.aio.ServicerContext
    ) -> pb.Room:
        name = request.name if request.HasField("name") else None
        personas = request.personas.personas if request.HasField("personas") else None
        if not request.HasField("autopilot"):
            room = await self.rooms.update(request.room_id, name, personas)
            self.autopilot.on_room_changed(request.room_id)
            return room
        validate_patch(request.autopilot)  # before anything changes
        if name is not None or personas is not None:
            await self.rooms.update(request.room_id, name, personas)
        return await self.autopilot.update(request.room_id, request.actor, request.autopilot)

    @_unary
    async def LoadHistory(
        self, request: pb.LoadHistoryRequest, context: grpc.aio.ServicerContext
    ) -> pb.LoadHistoryResponse:
        before = request.before_seq if request.HasField("before_seq") else None
        after = request.after_seq if request.HasField("after_seq") else None
        messages, has_more = await self.rooms.history(request.room_id, before, after, request.limit)
        return pb.LoadHistoryResponse(messages=messages, has_more=has_more)

    @_unary
    async def PostMessage(
        self, request: pb.PostMessageRequest, context: grpc.aio.ServicerContext
    ) -> pb.PostMessageResponse:
        message, duplicate = await self.rooms.post(
            request.room_id,
            request.author,
            request.content,
            request.client_msg_id,
            request.reply_to,
        )
        return pb.PostMessageResponse(message=message, duplicate=duplicate)

    @_unary
    async def InterruptMessage(
        self, request: pb.InterruptMessageRequest, context: grpc.aio.ServicerContext
    ) -> pb.Message:
        return await self.orchestrator.stop(request.room_id, request.message_id)

    @_unary
    async def SummaryPost(
        self, request: pb.SummaryPostRequest, context: grpc.aio.ServicerContext
    ) -> pb.Message:
        summarizer = self.orchestrator.summarizer
        task = self.orchestrator.spawn(request.room_id, summarizer.post(request.room_id))
        return await asyncio.shield(task)  # posted even if the caller gives up waiting

    async def RoomSession(
        self, request_iterator: AsyncIterator[pb.SessionRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.SessionEvent]:
        first = await anext(aiter(request_iterator), None)
        if first is None or first.WhichOneof("kind") != "open":
            await abort(context, grpc.StatusCode.INVALID_ARGUMENT, "first request must be open")
            return
        room_id = first.open.room_id
        stream = GatewayStream(room_id, first.open.gateway_id, self.session_queue_size)
        try:
            await self.hub.attach(
                stream,
                functools.partial(self.rooms.get, room_id),
                functools.partial(self.orchestrator.streaming, room_id),
            )
        except ChimeraError as exc:
            await abort(context, exc.code, exc.message)
            return
        stream.send(pb.SessionEvent(autopilot_status=self.autopilot.status(room_id)))
        logger.info("session opened", extra={"room_id": room_id, "gateway_id": stream.gateway_id})
        pump = asyncio.create_task(self._pump(request_iterator, stream))
        try:
            while True:
                event = await stream.queue.get()
                if isinstance(event, StreamClosed):
                    if event.code != "ok":
                        context.set_code(_STATUS[event.code])
                        context.set_details(event.details)
                    return
                yield event
        finally:
            pump.cancel()
            await asyncio.gather(pump, return_exceptions=True)
            self.hub.detach(stream)
            logger.info(
                "session closed", extra={"room_id": room_id, "gateway_id": stream.gateway_id}
            )

    async def _pump(
        self, requests: AsyncIterator[pb.SessionRequest], stream: GatewayStream
    ) -> None:
        """Handle a stream's requests in order: one connection's sends keep their order."""
        try:
            async for request in requests:
                async with stream.busy:
                    if stream.closed:
                        return
                    await self._handle(stream, request)
            stream.close("ok", "gateway closed the stream")
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("session request failed", extra={"room_id": stream.room_id})
            stream.close("internal", "internal error")

    async def _handle(self, stream: GatewayStream, request: pb.SessionRequest) -> None:
        kind = request.WhichOneof("kind")
        if kind == "join":
            self.hub.join(stream, request.join.conn_id, request.join.user)
        elif kind == "leave":
            self.hub.leave(stream, request.leave.conn_id)
        elif kind == "typing":
            user = stream.members.get(request.typing.conn_id)
            if user is not None:
                self.hub.set_typing(stream.room_id, user, request.typing.active)
        elif kind == "interrupt":
            if not self.orchestrator.request_stop(stream.room_id, request.interrupt.message_id):
                error = pb.RequestError(
                    conn_id=request.interrupt.conn_id,
                    code="not_found",
                    message="That reply is not streaming.",
                )
                stream.send(pb.SessionEvent(error=error))
        elif kind == "autopilot":
            await self._autopilot(stream, request.autopilot)
        elif kind == "send":
            stream.send(pb.SessionEvent(send_result=await self._send(stream.room_id, request.send)))

    async def _autopilot(self, stream: GatewayStream, request: pb.AutopilotRequest) -> None:
        """A member switched the autopilot or changed it; everyone sees the room change."""
        actor = stream.members.get(request.conn_id)
        if actor is None:
            return  # the member left meanwhile
        try:
            await self.autopilot.update(stream.room_id, actor, request.patch)
        except ChimeraError as exc:
            error = pb.RequestError(
                conn_id=request.conn_id, code=error_code(exc.code), message=exc.message
            )
            stream.send(pb.SessionEvent(error=error))

    async def _send(self, room_id: str, send: pb.SendMessage) -> pb.SendResult:
        result = pb.SendResult(conn_id=send.conn_id, client_msg_id=send.client_msg_id)
        try:
            if not send.author.id:
                raise InvalidArgument("send needs an author")
            message, duplicate = await self.rooms.post(
                room_id, send.author, send.content, send.client_msg_id, send.reply_to
            )
        except ChimeraError as exc:
            result.error_code, result.error_message = error_code(exc.code), exc.message
            return result
        result.message.CopyFrom(message)
        result.duplicate = duplicate
        return result

    async def close_streams(self, timeout: float) -> None:
        """Shutdown: let each stream finish its in-flight request, then end it UNAVAILABLE."""

        async def close(stream: GatewayStream) -> None:
            try:
                async with asyncio.timeout(timeout):
                    await stream.busy.acquire()
            except TimeoutError:
                logger.warning("stream still busy at shutdown", extra={"room_id": stream.room_id})
            stream.close("unavailable", "room service is shutting down")

        await asyncio.gather(*(close(s) for s in self.hub.streams()))
