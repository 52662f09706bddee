"""Store records to protobuf messages."""

from __future__ import annotations

from services.common.ids import to_ms
from services.common.pb import room_pb2 as pb
from services.room.personas import persona_pb
from services.room.store.records import (
    AutopilotRecord,
    MessageRecord,
    RoomRecord,
    SummaryRecord,
)

AUTHOR_KINDS = {
    "human": pb.AUTHOR_KIND_HUMAN,
    "ai": pb.AUTHOR_KIND_AI,
    "system": pb.AUTHOR_KIND_SYSTEM,
}
STATUSES = {
    "complete": pb.MESSAGE_STATUS_COMPLETE,
    "streaming": pb.MESSAGE_STATUS_STREAMING,
    "interrupted": pb.MESSAGE_STATUS_INTERRUPTED,
    "error": pb.MESSAGE_STATUS_ERROR,
}


def room_pb(room: RoomRecord) -> pb.Room:
    """A stored room as the wire type."""
    return pb.Room(
        id=room.id,
        name=room.name,
        created_by=room.created_by,
        created_at_ms=to_ms(room.created_at),
        updated_at_ms=to_ms(room.updated_at),
        last_seq=room.last_seq,
        personas=[persona_pb(p) for p in room.personas],
        autopilot=autopilot_pb(room.autopilot),
        summary=summary_pb(room.summary) if room.summary else None,
    )


def autopilot_pb(autopilot: AutopilotRecord) -> pb.Autopilot:
    """A room's autopilot as the wire type."""
    return pb.Autopilot(
        enabled=autopilot.enabled,
        strategy=autopilot.strategy,
        max_turns=autopilot.max_turns,
        token_budget=autopilot.token_budget,
        idle_timeout_s=autopilot.idle_timeout_s,
        summary_model=autopilot.summary_model,
        turns=autopilot.turns,
        tokens_used=autopilot.tokens_used,
        stopped_reason=autopilot.stopped_reason,
    )


def summary_pb(summary: SummaryRecord) -> pb.Summary:
    """A room's rolling summary as the wire type."""
    return pb.Summary(
        text=summary.text, upto_seq=summary.upto_seq, updated_at_ms=to_ms(summary.updated_at)
    )


def message_pb(message: MessageRecord) -> pb.Message:
    """A stored message as the wire type."""
    result = pb.Message(
        id=message.id,
        room_id=message.room_id,
        seq=message.seq,
        author=pb.Author(
            id=message.author.id,
            name=message.author.name,
            kind=AUTHOR_KINDS.get(message.author.kind, pb.AUTHOR_KIND_UNSPECIFIED),
            handle=message.author.handle or "",
        ),
        content=message.content,
        reply_to=message.reply_to or "",
        status=STATUSES.get(message.status, pb.MESSAGE_STATUS_UNSPECIFIED),
        created_at_ms=to_ms(message.created_at),
        client_msg_id=message.client_msg_id or "",
        model=message.model or "",
        error=message.error or "",
    )
    if message.prompt_tokens is not None or message.completion_tokens is not None:
        result.usage.prompt_tokens = message.prompt_tokens or 0
        result.usage.completion_tokens = message.completion_tokens or 0
    if message.ttft_ms is not None or message.total_ms is not None:
        result.timing.time_to_first_token_ms = message.ttft_ms or 0
        result.timing.total_ms = message.total_ms or 0
    return result
