"""The RoomService gRPC servicer: wire types in, typed errors mapped to status out."""

from __future__ import annotations

import asyncio
import functools
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

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
from services.common.pb import room_pb2_grpc
from services.room.access import (
    VIEWERS_CANNOT_PILOT,
    VIEWERS_CANNOT_STOP,
    VIEWERS_CANNOT_SUMMARIZE,
    RoomView,
    can_send,
)
from services.room.convert import ROLES
from services.room.hub import Conn, GatewayStream, RoomHub, StreamClosed
from services.room.members import Members
from services.room.orchestrator.autopilot import Autopilot
from services.room.orchestrator.turns import Orchestrator
from services.room.rooms import Rooms

logger = logging.getLogger(__name__)

T = TypeVar("T")
_STATUS = {code.name.lower(): code for code in grpc.StatusCode}
JOIN_DENIED = "Room not found or access denied."
INTERNAL_MESSAGE = "Something went wrong on the server; try again."


def unary(
    method: Callable[[Any, Any, grpc.aio.ServicerContext], Awaitable[T]],
) -> Callable[[Any, Any, grpc.aio.ServicerContext], Awaitable[T]]:
    """Map typed errors to gRPC status; anything else is INTERNAL with a generic message."""

    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> T:
        try:
            return await method(self, request, context)
        except ChimeraError as exc:
            await abort(context, exc.code, exc.message, _metadata(exc))
        except Exception:
            logger.exception("unhandled error", extra={"rpc": method.__name__})
            await abort(context, grpc.StatusCode.INTERNAL, "internal error")
        raise AssertionError("unreachable")  # context.abort always raises

    return wrapper


def _metadata(exc: ChimeraError) -> tuple[tuple[str, str], ...]:
    """Trailing metadata an error carries: how long to wait before retrying, if it says."""
    retry_after = getattr(exc, "retry_after_s", None)
    return () if retry_after is None else (("retry-after", str(math.ceil(retry_after))),)


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


class RoomServicer(room_pb2_grpc.RoomServiceServicer):
    """Serves rooms, history and live RoomSession streams."""

    def __init__(
        self,
        rooms: Rooms,
        members: Members,
        hub: RoomHub,
        orchestrator: Orchestrator,
        *,
        session_queue_size: int,
        autopilot: Autopilot,
    ) -> None:
        self.rooms = rooms
        self.members = members
        self.hub = hub
        self.timeline = rooms.timeline
        self.orchestrator = orchestrator
        self.autopilot = autopilot
        self.session_queue_size = session_queue_size
        self.stopping = False

    @unary
    async def CreateRoom(
        self, request: pb.CreateRoomRequest, context: grpc.aio.ServicerContext
    ) -> pb.Room:
        return await self.rooms.create(
            request.actor, request.name, request.personas, request.access, request.allow_guests
        )

    @unary
    async def GetRoom(
        self, request: pb.GetRoomRequest, context: grpc.aio.ServicerContext
    ) -> pb.Room:
        return await self.rooms.get(request.actor, request.room_id)

    @unary
    async def ListRooms(
        self, request: pb.ListRoomsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListRoomsResponse:
        rooms = await self.rooms.list_rooms(request.actor, request.limit, request.all_rooms)
        return pb.ListRoomsResponse(rooms=rooms)

    @unary
    async def UpdateRoom(
        self, request: pb.UpdateRoomRequest, context: grpc.aio.ServicerContext
    ) -> pb.Room:
        name = request.name if request.HasField("name") else None
        personas = request.personas.personas if request.HasField("personas") else None
        access = request.access if request.HasField("access") else None
        allow_guests = request.allow_guests if request.HasField("allow_guests") else None
        actor, room_id = request.actor, request.room_id
        if not request.HasField("autopilot"):
            return await self.rooms.update(actor, room_id, name, personas, access, allow_guests)
        # The autopilot alone: any member who may send. With anything else: owners only.
        owner_fields = any(f is not None for f in (name, personas, access, allow_guests))
        view: RoomView
        if owner_fields:
            view = await self.rooms.access.require_owner(actor, room_id)
        else:
            view = await self.rooms.require_sender(actor, room_id, VIEWERS_CANNOT_PILOT)
        await self.autopilot.check(request.autopilot)  # before anything changes
        if owner_fields:
            await self.rooms.update(actor, room_id, name, personas, access, allow_guests)
        user = pb.User(id=view.actor.id, name=view.actor.name)
        room = await self.autopilot.update(room_id, user, request.autopilot)
        room.role = ROLES.get(view.role or "", pb.ROOM_ROLE_UNSPECIFIED)
        return room

    @unary
    async def LoadHistory(
        self, request: pb.LoadHistoryRequest, context: grpc.aio.ServicerContext
    ) -> pb.LoadHistoryResponse:
        before = request.before_seq if request.HasField("before_seq") else None
        after = request.after_seq if request.HasField("after_seq") else None
        messages, has_more = await self.rooms.history(
            request.actor, request.room_id, before, after, request.limit
        )
        return pb.LoadHistoryResponse(messages=messages, has_more=has_more)

    @unary
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

    @unary
    async def InterruptMessage(
        self, request: pb.InterruptMessageRequest, context: grpc.aio.ServicerContext
    ) -> pb.Message:
        view = await self.rooms.require_member(request.actor, request.room_id)
        if not can_send(view.role):
            raise PermissionDenied(VIEWERS_CANNOT_STOP)
        return await self.orchestrator.stop(request.room_id, request.message_id)

    @unary
    async def ListMembers(
        self, request: pb.ListMembersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListMembersResponse:
        members = await self.members.list_members(request.actor, request.room_id)
        return pb.ListMembersResponse(members=members)

    @unary
    async def UpdateMember(
        self, request: pb.UpdateMemberRequest, context: grpc.aio.ServicerContext
    ) -> pb.RoomMember:
        return await self.members.update(
            request.actor, request.room_id, request.user_id, request.role
        )

    @unary
    async def RemoveMember(
        self, request: pb.RemoveMemberRequest, context: grpc.aio.ServicerContext
    ) -> pb.RemoveMemberResponse:
        await self.members.remove(request.actor, request.room_id, request.user_id)
        return pb.RemoveMemberResponse()

    @unary
    async def CreateInvite(
        self, request: pb.CreateInviteRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateInviteResponse:
        invite, token = await self.members.create_invite(
            request.actor,
            request.room_id,
            request.max_uses,
            request.expires_in_hours,
            request.role,
        )
        return pb.CreateInviteResponse(invite=invite, token=token)

    @unary
    async def ListInvites(
        self, request: pb.ListInvitesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListInvitesResponse:
        invites = await self.members.list_invites(request.actor, request.room_id)
        return pb.ListInvitesResponse(invites=invites)

    @unary
    async def RevokeInvite(
        self, request: pb.RevokeInviteRequest, context: grpc.aio.ServicerContext
    ) -> pb.RevokeInviteResponse:
        await self.members.revoke_invite(request.actor, request.room_id, request.invite_id)
        return pb.RevokeInviteResponse()

    @unary
    async def AcceptInvite(
        self, request: pb.AcceptInviteRequest, context: grpc.aio.ServicerContext
    ) -> pb.Room:
        return await self.members.accept_invite(request.actor, request.token)

    @unary
    async def SummaryPost(
        self, request: pb.SummaryPostRequest, context: grpc.aio.ServicerContext
    ) -> pb.Message:
        view = await self.rooms.require_sender(
            request.actor, request.room_id, VIEWERS_CANNOT_SUMMARIZE
        )
        summarizer = self.orchestrator.summarizer
        work = summarizer.post(request.room_id, asker_id=view.actor.id)
        task = self.orchestrator.spawn(request.room_id, work)
        return await asyncio.shield(task)  # posted even if the caller gives up waiting

    async def RoomSession(
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
        stream = GatewayStream(room_id, first.open.gateway_id, self.session_queue_size)
        pump: asyncio.Task[None] | None = None
        try:
            try:
                await self.timeline.attach(
                    stream,
                    functools.partial(self.rooms.snapshot, room_id),
                    functools.partial(self.orchestrator.streaming, room_id),
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
                        await self._handle(stream, request)
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

    async def _handle(self, stream: GatewayStream, request: pb.SessionRequest) -> None:
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
