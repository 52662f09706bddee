"""The room store on SQLAlchemy: SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

from services.room.store.registry import Store, StoreOptions
from services.room.store.sql.access import AccessRepository
from services.room.store.sql.accounts import AccountRepository
from services.room.store.sql.database import create_engine, migrate
from services.room.store.sql.outbox import OutboxRepository
from services.room.store.sql.repository import RoomRepository
from services.room.store.sql.usage import UsageRepository


async def open_sql(url: str, options: StoreOptions) -> Store:
    """Open a SQL store, its schema migrated to the newest revision."""
    engine = create_engine(url)
    try:
        await migrate(engine)
    except BaseException:
        await engine.dispose()
        raise
    return Store(
        rooms=RoomRepository(engine, options.autopilot_defaults),
        access=AccessRepository(engine, options.autopilot_defaults),
        accounts=AccountRepository(engine, outbox=options.outbox),
        usage=UsageRepository(engine),
        outbox=OutboxRepository(engine),
        close=engine.dispose,
    )
