"""The RoomService gRPC servicer: wire types in, typed errors mapped to status out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import grpc

from services.common.errors import NotFound, PermissionDenied
from services.common.grpc_errors import unary
from services.common.pb import room_pb2 as pb
from services.common.pb import room_pb2_grpc
from services.room.access import (
    VIEWERS_CANNOT_PILOT,
    VIEWERS_CANNOT_STOP,
    VIEWERS_CANNOT_SUMMARIZE,
    RoomView,
    can_send,
)
from services.room.convert import ROLES, message_pb
from services.room.hub import RoomHub
from services.room.members import Members
from services.room.orchestrator.autopilot import Autopilot
from services.room.orchestrator.turns import Orchestrator
from services.room.rooms import Rooms
from services.room.session import RoomSessions
from services.room.speech.speaker import Speaker

logger = logging.getLogger(__name__)

NO_SPEECH = "This message has no speech."


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
        speaker: Speaker | None = None,
    ) -> None:
        self.rooms = rooms
        self.speaker = speaker  # None: no reply has stored speech
        self.members = members
        self.orchestrator = orchestrator
        self.autopilot = autopilot
        self.sessions = RoomSessions(
            rooms, hub, orchestrator, autopilot, queue_size=session_queue_size
        )

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
    async def GetSpeech(
        self, request: pb.GetSpeechRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetSpeechResponse:
        await self.rooms.require_member(request.actor, request.room_id)
        message = message_pb(await self.rooms.repo.get_message(request.room_id, request.message_id))
        stored = None
        if self.speaker is not None:
            stored = await self.speaker.stored(request.room_id, message)
        if stored is None:
            raise NotFound(NO_SPEECH)
        return stored

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
        """A gateway's stream for one room (services/room/session.py)."""
        await self.sessions.serve(request_iterator, context)

    async def close_streams(self, timeout: float) -> None:
        """Shutdown: let each stream finish its in-flight request, then end it UNAVAILABLE."""
        await self.sessions.close(timeout)
