"""Protobuf messages to the JSON the REST API and WebSocket frames carry, and request enums back.

Each function is its output model read off the message (from_proto.py): a field added to the
proto and to the model needs nothing here.
"""

from __future__ import annotations

from typing import Any, cast

from services.common.ids import ms_to_iso
from services.common.pb import account_pb2 as apb
from services.common.pb import room_pb2 as pb
from services.common.pb import tts_pb2
from services.gateway import schemas as s
from services.gateway.from_proto import from_proto, wire_names
from services.gateway.ws.frames import AutopilotStatus

_ROLE_NAMES = wire_names(pb.RoomRole.DESCRIPTOR)
ROLE_VALUES = {name: cast(pb.RoomRole, number) for number, name in _ROLE_NAMES.items()}
ACCESS_VALUES = {
    name: cast(pb.RoomAccess, number)
    for number, name in wire_names(pb.RoomAccess.DESCRIPTOR).items()
}


def role_name(role: int) -> str | None:
    """A room role as clients see it; None for "not a member"."""
    return _ROLE_NAMES.get(role)


def optional_time(ms: int) -> str | None:
    """Epoch ms as ISO 8601, or None for 0 (never)."""
    return ms_to_iso(ms) if ms else None


def room_json(room: pb.Room, role: int | None = None) -> dict[str, Any]:
    """A room as clients see it; `role` overrides the caller's role carried in `room`."""
    if role is None:
        return from_proto(s.RoomOut, room)
    return from_proto(s.RoomOut, room, role=role)


def autopilot_json(autopilot: pb.Autopilot) -> dict[str, Any]:
    """A room's autopilot as clients see it."""
    return from_proto(s.AutopilotOut, autopilot)


def autopilot_status_json(status: pb.AutopilotStatus) -> dict[str, Any]:
    """What a room's autopilot is doing, as clients see it."""
    return from_proto(AutopilotStatus, status)


def persona_json(persona: pb.Persona) -> dict[str, Any]:
    """A persona as clients see it."""
    return from_proto(s.PersonaOut, persona)


def user_json(user: pb.User) -> dict[str, Any]:
    """A person as clients see them."""
    return from_proto(s.UserOut, user)


def message_json(message: pb.Message) -> dict[str, Any]:
    """A message as clients see it; clients upsert by `id`."""
    return from_proto(s.MessageOut, message)


def account_json(account: apb.Account) -> dict[str, Any]:
    """The signed-in account, as `GET /api/me` shows it."""
    return from_proto(s.MeOut, account)


def admin_account_json(account: apb.Account) -> dict[str, Any]:
    """An account as admins see it."""
    return from_proto(s.AdminUserOut, account)


def member_json(member: pb.RoomMember) -> dict[str, Any]:
    """A room member."""
    return from_proto(s.MemberOut, member)


def invite_json(invite: pb.Invite) -> dict[str, Any]:
    """An invite, without its secret."""
    return from_proto(s.InviteOut, invite)


def token_json(token: apb.ApiToken) -> dict[str, Any]:
    """A personal API token, without its secret."""
    return from_proto(s.TokenOut, token)


def voice_json(voice: tts_pb2.VoiceInfo) -> dict[str, Any]:
    """A voice of the TTS node's registry."""
    return from_proto(s.VoiceOut, voice)
