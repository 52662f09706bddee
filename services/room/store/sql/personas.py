"""A room's personas: the rows behind `RoomRecord.personas`, ordered by `position`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from services.common.errors import InvalidArgument
from services.room.store.records import PersonaRecord
from services.room.store.sql.models import Persona

DUPLICATE_HANDLES = "Persona handles must be unique in a room."


def check_handles(personas: Sequence[PersonaRecord]) -> None:
    """InvalidArgument unless every handle in `personas` is distinct."""
    # Checked before writing rather than left to the primary key, so the message is readable.
    handles = [persona.handle for persona in personas]
    if len(set(handles)) != len(handles):
        raise InvalidArgument(DUPLICATE_HANDLES)


def add_personas(
    session: AsyncSession, room_id: str, personas: Sequence[PersonaRecord], now: datetime
) -> None:
    """Add `personas` to the session as the room's, in the given order."""
    session.add_all(
        Persona(
            room_id=room_id,
            handle=persona.handle,
            name=persona.name,
            model=persona.model,
            system_prompt=persona.system_prompt,
            temperature=persona.temperature,
            max_tokens=persona.max_tokens,
            talkativeness=persona.talkativeness,
            muted=persona.muted,
            voice=persona.voice,
            voice_rate=persona.voice_rate,
            position=position,
            created_at=now,
        )
        for position, persona in enumerate(personas)
    )


async def replace_personas(
    session: AsyncSession, room_id: str, personas: Sequence[PersonaRecord], now: datetime
) -> None:
    """Make `personas`, in the given order, the room's only personas."""
    await session.execute(delete(Persona).where(Persona.room_id == room_id))
    add_personas(session, room_id, personas, now)


async def load_personas(
    session: AsyncSession, room_ids: Iterable[str]
) -> dict[str, tuple[PersonaRecord, ...]]:
    """The personas of each of `room_ids` in order, in one query; rooms without any are absent."""
    ids = list(room_ids)
    return _by_room(await session.scalars(_personas_of(ids))) if ids else {}


def load_personas_sync(
    session: Session, room_ids: Iterable[str]
) -> dict[str, tuple[PersonaRecord, ...]]:
    """`load_personas` with a synchronous session."""
    ids = list(room_ids)
    return _by_room(session.scalars(_personas_of(ids))) if ids else {}


def _personas_of(room_ids: list[str]) -> Select[Persona]:
    return (
        select(Persona)
        .where(Persona.room_id.in_(room_ids))
        .order_by(Persona.room_id, Persona.position)
    )


def _by_room(personas: Iterable[Persona]) -> dict[str, tuple[PersonaRecord, ...]]:
    by_room: dict[str, list[PersonaRecord]] = {}
    for persona in personas:
        by_room.setdefault(persona.room_id, []).append(_persona_record(persona))
    return {room_id: tuple(records) for room_id, records in by_room.items()}


def _persona_record(persona: Persona) -> PersonaRecord:
    return PersonaRecord(
        handle=persona.handle,
        name=persona.name,
        model=persona.model,
        system_prompt=persona.system_prompt,
        temperature=persona.temperature,
        max_tokens=persona.max_tokens,
        talkativeness=persona.talkativeness,
        muted=persona.muted,
        voice=persona.voice,
        voice_rate=persona.voice_rate,
    )
