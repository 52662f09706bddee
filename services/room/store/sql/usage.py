"""AI tokens spent per UTC day, by account ("user") and by room ("room")."""

from __future__ import annotations

from sqlalchemy import select

from services.room.store.sql.base import Repository
from services.room.store.sql.dialect import upsert
from services.room.store.sql.models import AiUsage


class UsageRepository(Repository):
    """Rows of `ai_usage`: one counter per (scope, scope id, day)."""

    async def used(self, scope: str, scope_id: str, day: str) -> int:
        """Tokens counted for `scope_id` on `day` (YYYY-MM-DD)."""
        query = select(AiUsage.tokens).where(
            AiUsage.scope == scope, AiUsage.scope_id == scope_id, AiUsage.day == day
        )
        async with self._sessions() as session:
            return (await session.scalar(query)) or 0

    async def add(self, day: str, counts: dict[tuple[str, str], int]) -> None:
        """Add tokens to several (scope, scope id) counters of `day`, in one transaction."""
        async with self._write() as session:
            for (scope, scope_id), tokens in sorted(counts.items()):
                statement = upsert(self.dialect, AiUsage).values(
                    scope=scope, scope_id=scope_id, day=day, tokens=tokens
                )
                statement = statement.on_conflict_do_update(
                    index_elements=[AiUsage.scope, AiUsage.scope_id, AiUsage.day],
                    set_={"tokens": AiUsage.tokens + statement.excluded.tokens},
                )
                await session.execute(statement)
