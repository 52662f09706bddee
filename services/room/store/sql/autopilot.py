"""A room's autopilot columns and its rolling summary, beside RoomRepository (same engine)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.clock import utcnow
from services.room.store.protocol import RoomStore
from services.room.store.records import AutopilotRecord, RoomRecord
from services.room.store.sql.base import Repository
from services.room.store.sql.dialect import upsert
from services.room.store.sql.models import Room, RoomSummary

# The fields of AutopilotRecord that map to `autopilot_<field>` columns of rooms.
FIELDS = frozenset(AutopilotRecord.__dataclass_fields__)


class AutopilotRepository(Repository):
    """Reads and writes a room's autopilot state and summary; every method is one transaction."""

    def __init__(self, engine: AsyncEngine, rooms: RoomStore) -> None:
        super().__init__(engine)
        self.rooms = rooms

    async def update(
        self, room_id: str, values: dict[str, Any], *, only_if_enabled: bool = False
    ) -> RoomRecord | None:
        """Set autopilot fields (AutopilotRecord names) and return the room; NotFound if none.

        With `only_if_enabled`, nothing changes (and None is returned) unless the autopilot is on,
        so that of two racing stops only one takes effect.
        """
        unknown = set(values) - FIELDS
        if unknown:
            raise ValueError(f"not autopilot fields: {sorted(unknown)}")
        columns = {f"autopilot_{name}": value for name, value in values.items()}
        statement = update(Room).where(Room.id == room_id)
        if only_if_enabled:
            statement = statement.where(Room.autopilot_enabled.is_(True))
        statement = statement.values(columns).returning(Room.id)
        async with self._write() as session:
            changed = await session.scalar(
                statement, execution_options={"synchronize_session": False}
            )
        if changed is None and only_if_enabled:
            return None
        return await self.rooms.get_room(room_id)  # NotFound when there is no such room

    async def enabled_rooms(self) -> list[str]:
        """Ids of the rooms whose autopilot is on."""
        async with self._sessions() as session:
            return list(await session.scalars(select(Room.id).where(Room.autopilot_enabled)))

    async def save_summary(self, room_id: str, text: str, upto_seq: int) -> bool:
        """Store a room's summary if it reaches further than the stored one; whether it did."""
        values = {"room_id": room_id, "text": text, "upto_seq": upto_seq, "updated_at": utcnow()}
        async with self._write() as session:
            row = upsert(session.get_bind().dialect.name, RoomSummary).values(values)
            statement = row.on_conflict_do_update(
                index_elements=[RoomSummary.room_id],
                set_={k: row.excluded[k] for k in ("text", "upto_seq", "updated_at")},
                where=RoomSummary.upto_seq < row.excluded.upto_seq,
            ).returning(RoomSummary.room_id)
            return await session.scalar(statement) is not None
