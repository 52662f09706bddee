"""Engines for the room store (SQLite by default, PostgreSQL on request) and schema migration."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

DATABASE_FILE = "chimera.db"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Held for the migration transaction so room-service instances starting together on one
# PostgreSQL database upgrade one after the other instead of racing on CREATE TABLE.
_MIGRATION_LOCK_KEY = 0x6368696D  # "chim"

# Acknowledged messages must survive kill -9 and power loss: WAL with a sync on every commit.
_SQLITE_PRAGMAS = (
    "PRAGMA busy_timeout=5000",  # first, so that switching a new file to WAL waits too
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
)

# A URL without a driver gets the async one this package is written against.
_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def default_url(data_dir: Path) -> str:
    """The URL of the default database: a SQLite file in `data_dir`."""
    return f"sqlite+aiosqlite:///{data_dir.resolve() / DATABASE_FILE}"


def create_engine(url: str) -> AsyncEngine:
    """An async engine for `url`, configured for the room store's durability and concurrency."""
    parsed = make_url(url)
    parsed = parsed.set(drivername=_ASYNC_DRIVERS.get(parsed.drivername, parsed.drivername))
    factory = _ENGINE_FACTORIES.get(parsed.get_backend_name())
    if factory is None:
        raise ValueError(
            f"Unsupported database {parsed.get_backend_name()!r}; use sqlite or postgresql."
        )
    return factory(parsed)


async def migrate(engine: AsyncEngine) -> None:
    """Upgrade the database schema to the newest Alembic revision."""
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )
        await conn.run_sync(_upgrade_to_head)


def alembic_config() -> Config:
    """An Alembic config for the bundled migrations, independent of the working directory."""
    config = Config()
    # ConfigParser interpolates '%', which may appear in an install path.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    return config


def _upgrade_to_head(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _sqlite_engine(url: URL) -> AsyncEngine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url)
    event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
    event.listen(engine.sync_engine, "begin", _on_sqlite_begin)
    return engine


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # The driver's legacy mode runs SELECTs outside any transaction; take over BEGIN instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in _SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def _on_sqlite_begin(conn: Connection) -> None:
    # Deferred BEGIN: readers never block. Writing transactions start with their write, so
    # they wait on busy_timeout for the lock instead of failing on a stale read snapshot.
    conn.exec_driver_sql("BEGIN")


def _postgres_engine(url: URL) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=10,
        max_overflow=10,
        pool_timeout=30,
        pool_recycle=1800,
        pool_pre_ping=True,
    )


_ENGINE_FACTORIES: dict[str, Callable[[URL], AsyncEngine]] = {
    "sqlite": _sqlite_engine,
    "postgresql": _postgres_engine,
}
