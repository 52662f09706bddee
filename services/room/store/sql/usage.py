"""AI tokens spent per UTC day, by account ("user") and by room ("room")."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, or_, select

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

    async def used_many(
        self, day: str, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], int]:
        """Tokens counted on `day` for each (scope, scope id) of `keys`, in one query."""
        if not keys:
            return {}
        query = select(AiUsage.scope, AiUsage.scope_id, AiUsage.tokens).where(
            AiUsage.day == day,
            or_(*(and_(AiUsage.scope == s, AiUsage.scope_id == i) for s, i in keys)),
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        found = {(scope, scope_id): tokens for scope, scope_id, tokens in rows}
        return {key: found.get(key, 0) for key in keys}

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
