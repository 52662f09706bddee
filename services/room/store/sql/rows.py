"""Rows of the room store as storage-neutral records (store/records.py), and back."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Row, Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from services.room.store.records import (
    AuthorRecord,
    AutopilotRecord,
    MessageRecord,
    PersonaRecord,
    RoomRecord,
    SpeechRecord,
    SummaryRecord,
)
from services.room.store.sql.models import Message, Room, RoomSummary


def room_record(
    room: Room,
    personas: tuple[PersonaRecord, ...],
    summary: SummaryRecord | None = None,
    autopilot_defaults: AutopilotRecord | None = None,
) -> RoomRecord:
    """A room row, its personas and its summary as a record (`autopilot_defaults` fill in the
    autopilot settings never set)."""
    return RoomRecord(
        id=room.id,
        name=room.name,
        created_by=room.created_by,
        created_at=room.created_at,
        updated_at=room.updated_at,
        last_seq=room.last_seq,
        personas=personas,
        access=room.access,
        allow_guests=room.allow_guests,
        autopilot=autopilot_record(room, autopilot_defaults or AutopilotRecord()),
        summary=summary,
    )


# The messages table's columns in the order `message_from_values` takes them.
MESSAGE_COLUMNS = (
    "id",
    "room_id",
    "seq",
    "author_id",
    "author_name",
    "author_kind",
    "author_handle",
    "content",
    "reply_to",
    "status",
    "client_msg_id",
    "created_at",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "ttft_ms",
    "total_ms",
    "error",
    "speech_voice",
    "speech_sentences",
    "speech_final",
    "speech_error",
    "speech_sample_rate",
)


def message_from_values(values: Sequence[Any]) -> MessageRecord:
    """A message from its column values in MESSAGE_COLUMNS order (a row selected so).

    Positional on purpose: a page of history or a reply's context is hundreds of rows, and
    reading each by attribute name cost ~1.6 µs a column, most of the read."""
    (
        id,
        room_id,
        seq,
        author_id,
        author_name,
        author_kind,
        author_handle,
        content,
        reply_to,
        status,
        client_msg_id,
        created_at,
        model,
        prompt_tokens,
        completion_tokens,
        ttft_ms,
        total_ms,
        error,
        speech_voice,
        speech_sentences,
        speech_final,
        speech_error,
        speech_sample_rate,
    ) = values
    return MessageRecord(
        id=id,
        room_id=room_id,
        seq=seq,
        author=AuthorRecord(id=author_id, name=author_name, kind=author_kind, handle=author_handle),
        content=content,
        reply_to=reply_to,
        status=status,
        client_msg_id=client_msg_id,
        created_at=created_at,
        model=model,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        ttft_ms=ttft_ms,
        total_ms=total_ms,
        error=error,
        speech=None
        if speech_voice is None
        else SpeechRecord(
            voice=speech_voice,
            sentences=speech_sentences or 0,
            final=bool(speech_final),
            error=speech_error or "",
            sample_rate=speech_sample_rate or 0,
        ),
    )


def message_record(message: Message | Row[Any]) -> MessageRecord:
    """A message row (ORM object or Core row: the same attribute names) as a record."""
    return message_from_values(tuple(getattr(message, name) for name in MESSAGE_COLUMNS))


def autopilot_record(room: Room, defaults: AutopilotRecord) -> AutopilotRecord:
    """A room row's autopilot, with `defaults` where a setting was never set."""
    return AutopilotRecord(
        enabled=room.autopilot_enabled,
        strategy=room.autopilot_strategy,
        max_turns=_or(room.autopilot_max_turns, defaults.max_turns),
        token_budget=_or(room.autopilot_token_budget, defaults.token_budget),
        idle_timeout_s=_or(room.autopilot_idle_timeout_s, defaults.idle_timeout_s),
        summary_model=room.autopilot_summary_model or "",
        turns=room.autopilot_turns,
        tokens_used=room.autopilot_tokens_used,
        stopped_reason=room.autopilot_stopped_reason or "",
    )


async def load_summaries(
    session: AsyncSession, room_ids: Iterable[str]
) -> dict[str, SummaryRecord]:
    """The summaries of those of `room_ids` that have one, in one query."""
    ids = list(room_ids)
    return _summaries(await session.scalars(_summaries_of(ids))) if ids else {}


def load_summaries_sync(session: Session, room_ids: Iterable[str]) -> dict[str, SummaryRecord]:
    """`load_summaries` with a synchronous session."""
    ids = list(room_ids)
    return _summaries(session.scalars(_summaries_of(ids))) if ids else {}


def _summaries_of(room_ids: list[str]) -> Select[RoomSummary]:
    return select(RoomSummary).where(RoomSummary.room_id.in_(room_ids))


def _summaries(rows: Iterable[RoomSummary]) -> dict[str, SummaryRecord]:
    return {
        row.room_id: SummaryRecord(text=row.text, upto_seq=row.upto_seq, updated_at=row.updated_at)
        for row in rows
    }


def _or(value: int | None, default: int) -> int:
    return default if value is None else value
