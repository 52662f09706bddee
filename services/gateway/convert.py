"""Protobuf messages to the JSON the REST API and WebSocket frames carry."""

from __future__ import annotations

from typing import Any

from services.common.ids import ms_to_iso
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
}


def room_json(room: pb.Room) -> dict[str, Any]:
    """A room as clients see it."""
    return {
        "id": room.id,
        "name": room.name,
        "created_by": room.created_by,
        "created_at": ms_to_iso(room.created_at_ms),
        "updated_at": ms_to_iso(room.updated_at_ms),
        "last_seq": room.last_seq,
        "personas": [persona_json(p) for p in room.personas],
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
    }
