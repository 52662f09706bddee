"""Rows of `revocation_outbox`: revocations written by `chimera admin`, read by the room service."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.clock import utcnow
from services.room.store.records import OutboxRecord
from services.room.store.sql.base import Repository
from services.room.store.sql.models import RevocationOutbox


def add_revocations(
    session: AsyncSession,
    *,
    credential_ids: Iterable[str] = (),
    account_id: str | None = None,
) -> None:
    """Record revocations in `session`'s transaction, so they commit with the change itself."""
    now = utcnow()
    rows = [RevocationOutbox(credential_id=c, created_at=now) for c in credential_ids]
    if account_id is not None:
        rows.append(RevocationOutbox(account_id=account_id, created_at=now))
    session.add_all(rows)


class OutboxRepository(Repository):
    """Reads and prunes `revocation_outbox`."""

    async def last_id(self) -> int:
        """The newest row's id, 0 when there is none."""
        async with self._sessions() as session:
            return (await session.scalar(select(func.max(RevocationOutbox.id)))) or 0

    async def after(self, after_id: int, limit: int) -> list[OutboxRecord]:
        """Up to `limit` rows with an id above `after_id`, oldest first."""
        query = (
            select(RevocationOutbox.id, RevocationOutbox.credential_id, RevocationOutbox.account_id)
            .where(RevocationOutbox.id > after_id)
            .order_by(RevocationOutbox.id)
            .limit(limit)
        )
        async with self._sessions() as session:
            return [OutboxRecord(*row) for row in (await session.execute(query)).all()]

    async def prune(self, before: datetime) -> int:
        """Delete the rows written before `before`; return how many."""
        statement = (
            delete(RevocationOutbox)
            .where(RevocationOutbox.created_at < before)
            .returning(RevocationOutbox.id)
        )
        async with self._write() as session:
            ids = await session.scalars(statement, execution_options={"synchronize_session": False})
            return len(list(ids))
