"""A room's autopilot columns and its rolling summary, beside RoomRepository (sharing its writer)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.room.store.models import Room, RoomSummary, utcnow
from services.room.store.records import AutopilotRecord, RoomRecord, SummaryRecord

if TYPE_CHECKING:  # the repository imports this module's loaders
    from services.room.store.repository import RoomRepository

# The fields of AutopilotRecord that map to `autopilot_<field>` columns of rooms.
FIELDS = frozenset(AutopilotRecord.__dataclass_fields__)


class AutopilotStore:
    """Reads and writes a room's autopilot state and summary; every method is one transaction."""

    def __init__(self, repo: RoomRepository) -> None:
        self.repo = repo

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
        async with self.repo.write_session() as session:
            changed = await session.scalar(
                statement, execution_options={"synchronize_session": False}
            )
        if changed is None and only_if_enabled:
            return None
        return await self.repo.get_room(room_id)  # NotFound when there is no such room

    async def enabled_rooms(self) -> list[str]:
        """Ids of the rooms whose autopilot is on."""
        async with self.repo.read_session() as session:
            return list(await session.scalars(select(Room.id).where(Room.autopilot_enabled)))

    async def save_summary(self, room_id: str, text: str, upto_seq: int) -> bool:
        """Store a room's summary if it reaches further than the stored one; whether it did."""
        values = {"room_id": room_id, "text": text, "upto_seq": upto_seq, "updated_at": utcnow()}
        async with self.repo.write_session() as session:
            dialect = session.get_bind().dialect.name
            insert = pg_insert if dialect == "postgresql" else sqlite_insert
            row = insert(RoomSummary).values(values)
            statement = row.on_conflict_do_update(
                index_elements=[RoomSummary.room_id],
                set_={k: row.excluded[k] for k in ("text", "upto_seq", "updated_at")},
                where=RoomSummary.upto_seq < row.excluded.upto_seq,
            ).returning(RoomSummary.room_id)
            return await session.scalar(statement) is not None


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
    if not ids:
        return {}
    rows = await session.scalars(select(RoomSummary).where(RoomSummary.room_id.in_(ids)))
    return {
        row.room_id: SummaryRecord(text=row.text, upto_seq=row.upto_seq, updated_at=row.updated_at)
        for row in rows
    }


def _or(value: int | None, default: int) -> int:
    return default if value is None else value
