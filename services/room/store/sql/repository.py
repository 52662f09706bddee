"""Rooms and their personas (their messages: messages.py); every public method is one transaction."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any
from uuid import uuid4

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

from services.common.clock import utcnow
from services.common.errors import NotFound
from services.room.store.records import (
    ROOM_NOT_FOUND,
    AutopilotRecord,
    PersonaRecord,
    RoomRecord,
    SummaryRecord,
)
from services.room.store.sql.autopilot import AutopilotRepository
from services.room.store.sql.messages import MessageRows
from services.room.store.sql.models import Room, RoomMember
from services.room.store.sql.personas import (
    add_personas,
    check_handles,
    load_personas,
    load_personas_sync,
    replace_personas,
)
from services.room.store.sql.rows import load_summaries, load_summaries_sync, room_record


class RoomRepository(MessageRows):
    """Rooms, their personas and (through MessageRows) their messages, stored through SQLAlchemy."""

    def __init__(
        self, engine: AsyncEngine, autopilot_defaults: AutopilotRecord | None = None
    ) -> None:
        super().__init__(engine)
        # What a room's autopilot settings are until someone sets them.
        self.autopilot_defaults = autopilot_defaults or AutopilotRecord()

    @functools.cached_property
    def autopilot(self) -> AutopilotRepository:
        """The rooms' autopilot state and summaries, on the same engine."""
        return AutopilotRepository(self._engine, self)

    # --- rooms ----------------------------------------------------------------------------------

    async def create_room(
        self,
        name: str,
        created_by: str,
        personas: Sequence[PersonaRecord] = (),
        *,
        access: str = "invite",
        allow_guests: bool = False,
        owner_id: str | None = None,
    ) -> RoomRecord:
        """Store a new, empty room with `personas` in the given order (and `owner_id` as owner)."""
        check_handles(personas)
        now = utcnow()
        room = Room(
            id=str(uuid4()),
            name=name,
            created_by=created_by,
            created_at=now,
            updated_at=now,
            last_seq=0,
            access=access,
            allow_guests=allow_guests,
        )
        async with self._write() as session:
            session.add(room)
            await session.flush()  # the room row before the rows that reference it
            add_personas(session, room.id, personas, now)
            if owner_id is not None:
                session.add(
                    RoomMember(room_id=room.id, account_id=owner_id, role="owner", created_at=now)
                )
        return self._room_record(room, tuple(personas))

    async def get_room(self, room_id: str) -> RoomRecord:
        """The room `room_id`; NotFound if there is none (one hop: every mention reads it)."""
        return await self._read_sync(self._get_room, room_id)

    def _get_room(self, session: Session, room_id: str) -> RoomRecord:
        room = session.get(Room, room_id)
        if room is None:
            raise NotFound(ROOM_NOT_FOUND)
        personas = load_personas_sync(session, [room_id])
        summaries = load_summaries_sync(session, [room_id])
        return self._room_record(room, personas.get(room_id, ()), summaries.get(room_id))

    async def list_rooms(self, limit: int) -> list[RoomRecord]:
        """Up to `limit` rooms, newest first (all of them: for administrators)."""
        query = select(Room).order_by(Room.created_at.desc(), Room.id.desc()).limit(limit)
        async with self._sessions() as session:
            rooms = list(await session.scalars(query))
            personas = await load_personas(session, [room.id for room in rooms])
            summaries = await load_summaries(session, [room.id for room in rooms])
        return [
            self._room_record(room, personas.get(room.id, ()), summaries.get(room.id))
            for room in rooms
        ]

    async def update_room(
        self,
        room_id: str,
        *,
        name: str | None = None,
        personas: Sequence[PersonaRecord] | None = None,
        access: str | None = None,
        allow_guests: bool | None = None,
    ) -> RoomRecord:
        """Change the given fields of a room and bump its updated_at; NotFound if there is none.

        `personas`, when given, replaces all of the room's personas.
        """
        if personas is not None:
            check_handles(personas)
        now = utcnow()
        values: dict[str, Any] = {"updated_at": now}
        if name is not None:
            values["name"] = name
        if access is not None:
            values["access"] = access
        if allow_guests is not None:
            values["allow_guests"] = allow_guests
        statement = update(Room).where(Room.id == room_id).values(values).returning(Room)
        async with self._write() as session:
            # The room row is locked first, so concurrent replacements of personas queue up.
            room = await session.scalar(statement, execution_options={"synchronize_session": False})
            if room is None:
                raise NotFound(ROOM_NOT_FOUND)
            if personas is None:
                stored = (await load_personas(session, [room_id])).get(room_id, ())
            else:
                await replace_personas(session, room_id, personas, now)
                stored = tuple(personas)
            summaries = await load_summaries(session, [room_id])
            return self._room_record(room, stored, summaries.get(room_id))

    def _room_record(
        self,
        room: Room,
        personas: tuple[PersonaRecord, ...],
        summary: SummaryRecord | None = None,
    ) -> RoomRecord:
        return room_record(room, personas, summary, self.autopilot_defaults)
