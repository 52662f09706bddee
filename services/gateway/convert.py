"""Protobuf messages to the JSON the REST API and WebSocket frames carry."""

from __future__ import annotations

from typing import Any, cast

from services.common.ids import ms_to_iso
from services.common.pb import account_pb2 as apb
from services.common.pb import room_pb2 as pb

AUTHOR_KINDS = {
    pb.AUTHOR_KIND_HUMAN: "human",
    pb.AUTHOR_KIND_AI: "ai",
    pb.AUTHOR_KIND_SYSTEM: "system",
}
STATUSES = {
    pb.MESSAGE_STATUS_COMPLETE: "complete",
    pb.MESSAGE_STATUS_STREAMING: "streaming",
    pb.MESSAGE_STATUS_INTERRUPTED: "interrupted",
    pb.MESSAGE_STATUS_ERROR: "error",
    pb.MESSAGE_STATUS_QUEUED: "queued",
}
ROLES: dict[pb.RoomRole, str] = {
    pb.ROOM_ROLE_VIEWER: "viewer",
    pb.ROOM_ROLE_MEMBER: "member",
    pb.ROOM_ROLE_OWNER: "owner",
}
ROLE_VALUES: dict[str, pb.RoomRole] = {name: value for value, name in ROLES.items()}
ACCESS: dict[pb.RoomAccess, str] = {pb.ROOM_ACCESS_OPEN: "open", pb.ROOM_ACCESS_INVITE: "invite"}
ACCESS_VALUES: dict[str, pb.RoomAccess] = {
    "open": pb.ROOM_ACCESS_OPEN,
    "invite": pb.ROOM_ACCESS_INVITE,
}


def role_name(role: int) -> str | None:
    """A room role as clients see it; None for "not a member"."""
    return ROLES.get(cast(pb.RoomRole, role))


def optional_time(ms: int) -> str | None:
    """Epoch ms as ISO 8601, or None for 0 (never)."""
    return ms_to_iso(ms) if ms else None


def room_json(room: pb.Room, role: int | None = None) -> dict[str, Any]:
    """A room as clients see it; `role` overrides the caller's role carried in `room`."""
    return {
        "id": room.id,
        "name": room.name,
        "created_by": room.created_by,
        "created_at": ms_to_iso(room.created_at_ms),
        "updated_at": ms_to_iso(room.updated_at_ms),
        "last_seq": room.last_seq,
        "personas": [persona_json(p) for p in room.personas],
        "access": ACCESS.get(room.access, "invite"),
        "allow_guests": room.allow_guests,
        "role": role_name(room.role if role is None else role),
        "autopilot": autopilot_json(room.autopilot),
        "summary": {
            "text": room.summary.text,
            "upto_seq": room.summary.upto_seq,
            "updated_at": ms_to_iso(room.summary.updated_at_ms),
        }
        if room.HasField("summary")
        else None,
    }


def autopilot_json(autopilot: pb.Autopilot) -> dict[str, Any]:
    """A room's autopilot as clients see it."""
    return {
        "enabled": autopilot.enabled,
        "strategy": autopilot.strategy or "natural",
        "max_turns": autopilot.max_turns,
        "token_budget": autopilot.token_budget,
        "idle_timeout_s": autopilot.idle_timeout_s,
        "summary_model": autopilot.summary_model or None,
        "turns": autopilot.turns,
        "tokens_used": autopilot.tokens_used,
        "stopped_reason": autopilot.stopped_reason or None,
    }


def autopilot_status_json(status: pb.AutopilotStatus) -> dict[str, Any]:
    """What a room's autopilot is doing, as clients see it."""
    return {
        "state": status.state or "off",
        "handle": status.handle or None,
        "reason": status.reason or None,
    }


def persona_json(persona: pb.Persona) -> dict[str, Any]:
    """A persona as clients see it."""
    return {
        "handle": persona.handle,
        "name": persona.name,
        "model": persona.model,
        "system_prompt": persona.system_prompt,
        "temperature": round(persona.temperature, 4),
        "max_tokens": persona.max_tokens,
        "talkativeness": round(persona.talkativeness, 4),
        "muted": persona.muted,
    }


def user_json(user: pb.User) -> dict[str, Any]:
    """A person as clients see them."""
    return {"id": user.id, "name": user.name}


def message_json(message: pb.Message) -> dict[str, Any]:
    """A message as clients see it; clients upsert by `id`."""
    return {
        "id": message.id,
        "room_id": message.room_id,
        "seq": message.seq,
        "author": {
            "id": message.author.id,
            "name": message.author.name,
            "kind": AUTHOR_KINDS.get(message.author.kind, "human"),
            "handle": message.author.handle or None,
        },
        "content": message.content,
        "reply_to": message.reply_to or None,
        "status": STATUSES.get(message.status, "complete"),
        "created_at": ms_to_iso(message.created_at_ms),
        "client_msg_id": message.client_msg_id or None,
        "model": message.model or None,
        "usage": {
            "prompt_tokens": message.usage.prompt_tokens,
            "completion_tokens": message.usage.completion_tokens,
        }
        if message.HasField("usage")
        else None,
        "timing": {
            "time_to_first_token_ms": message.timing.time_to_first_token_ms,
            "total_ms": message.timing.total_ms,
        }
        if message.HasField("timing")
        else None,
        "error": message.error or None,
        "queue_position": message.queue_position or None,
    }


def account_json(account: apb.Account) -> dict[str, Any]:
    """The signed-in account, as `GET /api/me` shows it."""
    return {
        "id": account.id,
        "name": account.name,
        "username": account.username or None,
        "kind": "guest" if account.kind == apb.ACCOUNT_KIND_GUEST else "user",
        "admin": account.admin,
    }


def admin_account_json(account: apb.Account) -> dict[str, Any]:
    """An account as admins see it."""
    return {
        **account_json(account),
        "disabled": account.disabled,
        "created_at": ms_to_iso(account.created_at_ms),
    }


def member_json(member: pb.RoomMember) -> dict[str, Any]:
    """A room member."""
    return {
        "user": user_json(member.user),
        "role": ROLES.get(member.role, "member"),
        "joined_at": ms_to_iso(member.joined_at_ms),
        "guest": member.guest,
    }


def invite_json(invite: pb.Invite) -> dict[str, Any]:
    """An invite, without its secret."""
    return {
        "id": invite.id,
        "room_id": invite.room_id,
        "role": ROLES.get(invite.role, "member"),
        "max_uses": invite.max_uses or None,
        "uses": invite.uses,
        "expires_at": optional_time(invite.expires_at_ms),
        "created_at": ms_to_iso(invite.created_at_ms),
        "revoked": invite.revoked,
    }


def token_json(token: apb.ApiToken) -> dict[str, Any]:
    """A personal API token, without its secret."""
    return {
        "id": token.id,
        "name": token.name,
        "created_at": ms_to_iso(token.created_at_ms),
        "expires_at": optional_time(token.expires_at_ms),
        "last_used_at": optional_time(token.last_used_at_ms),
    }
