"""A room's personas: the rows behind `RoomRecord.personas`, ordered by `position`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

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
    if not ids:
        return {}
    query = (
        select(Persona).where(Persona.room_id.in_(ids)).order_by(Persona.room_id, Persona.position)
    )
    by_room: dict[str, list[PersonaRecord]] = {}
    for persona in await session.scalars(query):
        by_room.setdefault(persona.room_id, []).append(_persona_record(persona))
    return {room_id: tuple(personas) for room_id, personas in by_room.items()}


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
    )
