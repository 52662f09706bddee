"""Engines for the room store (SQLite by default, PostgreSQL on request) and schema migration."""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, event, make_url, text
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import URL
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from services.common.errors import InvalidArgument
from services.common.validation import text_problem

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

T = TypeVar("T")

# A URL without a driver gets the async one this package is written against.
_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def create_engine(url: str) -> AsyncEngine:
    """An async engine for `url`, configured for the room store's durability and concurrency."""
    parsed = make_url(url)
    parsed = parsed.set(drivername=_ASYNC_DRIVERS.get(parsed.drivername, parsed.drivername))
    factory = _ENGINE_FACTORIES.get(parsed.get_backend_name())
    if factory is None:
        raise ValueError(
            f"Unsupported database {parsed.get_backend_name()!r}; use sqlite or postgresql."
        )
    engine = factory(parsed)
    _refuse_unstorable_text(engine.sync_engine)
    return engine


def _refuse_unstorable_text(engine: Engine) -> None:
    event.listen(engine, "before_cursor_execute", _refuse_unstorable)


def _refuse_unstorable(
    _conn: Connection, _cursor: Any, _statement: str, parameters: Any, _context: Any, many: bool
) -> None:
    """Text no store can hold (NUL, lone surrogates) is refused as bad input, never run.

    Request fields are checked with clear messages before they get here; this catches the rest
    (an id in a lookup, a field a new code path forgot) the same way on SQLite and PostgreSQL,
    instead of a driver error on one of them.
    """
    # Only NUL: every str here came from protobuf or the database, both valid UTF-8 already, so
    # the surrogate half of the rule cannot fail and would re-encode every message per statement.
    # `many` does not say the shape: insertmanyvalues passes one flat row with many=True.
    for value in _flat(parameters):
        if isinstance(value, str) and "\x00" in value:
            raise InvalidArgument(f"Text {text_problem(value)}.")


def _flat(parameters: Any) -> Iterator[Any]:
    """Every bound value, whether `parameters` is one row, a list of rows, dicts or tuples."""
    if isinstance(parameters, dict):
        parameters = parameters.values()
    elif not isinstance(parameters, (list, tuple)):
        return
    for value in parameters:
        if isinstance(value, (dict, list, tuple)):
            yield from _flat(value)
        else:
            yield value


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
    _configure_sqlite(engine.sync_engine)
    event.listen(engine.sync_engine, "engine_disposed", _close_sqlite_threads)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    event.listen(engine, "connect", _on_sqlite_connect)
    event.listen(engine, "begin", _on_sqlite_begin)


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


class SqliteThread:
    """One thread with its own connection to a SQLite file, running whole transactions.

    Through aiosqlite every statement, fetch and commit is a hop to its thread and back (16 for
    one posted message, 8 to read a room); here a transaction is one hop. Each file-backed
    engine has two: the writer, whose callers serialize their writes with the engine's write
    lock as SQLite has one writer at a time, and a reader for the hot reads, which in WAL mode
    never wait for the writer and see every transaction committed before they begin.
    """

    def __init__(self, url: URL, role: str) -> None:
        self._engine = create_sync_engine(
            url.set(drivername="sqlite+pysqlite"),
            # Only ever used by the one thread below; closed there too.
            connect_args={"check_same_thread": False},
        )
        _configure_sqlite(self._engine)
        _refuse_unstorable_text(self._engine)
        self._thread = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"chimera-sqlite-{role}"
        )

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(connection, *args)` in one transaction, committed unless it raises."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._transaction, fn, args)

    def _transaction(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        with self._engine.begin() as connection:
            return fn(connection, *args)

    def close(self) -> None:
        """Close the connection once queued transactions are done; do not wait for that."""
        self._thread.submit(self._engine.dispose)
        self._thread.shutdown(wait=False)


_SQLITE_THREADS: WeakKeyDictionary[Engine, dict[str, SqliteThread]] = WeakKeyDictionary()


def sqlite_writer(engine: AsyncEngine) -> SqliteThread | None:
    """The writer thread of a file-backed SQLite engine (None for other databases)."""
    return _sqlite_thread(engine, "writer")


def sqlite_reader(engine: AsyncEngine) -> SqliteThread | None:
    """The reader thread of a file-backed SQLite engine (None for other databases)."""
    return _sqlite_thread(engine, "reader")


def _sqlite_thread(engine: AsyncEngine, role: str) -> SqliteThread | None:
    url = engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    threads = _SQLITE_THREADS.setdefault(engine.sync_engine, {})
    thread = threads.get(role)
    if thread is None:
        thread = threads[role] = SqliteThread(url, role)
    return thread


def _close_sqlite_threads(engine: Engine) -> None:
    for thread in _SQLITE_THREADS.pop(engine, {}).values():
        thread.close()


def _postgres_engine(url: URL) -> AsyncEngine:
    engine = create_async_engine(
        url, pool_size=10, max_overflow=10, pool_timeout=30, pool_recycle=1800
    )
    event.listen(engine.sync_engine, "connect", _mark_idle)
    event.listen(engine.sync_engine, "checkin", _mark_idle)
    event.listen(engine.sync_engine, "checkout", _check_alive)
    return engine


# A pooled PostgreSQL connection is checked before use, but cheaply: one the server closed
# (a restart) is replaced at once, and only one idle for longer than this answers a ping first
# (HikariCP's "alive bypass window" does the same). SQLAlchemy's pool_pre_ping costs three
# round trips on every checkout with asyncpg (BEGIN, ping, ROLLBACK): a fifth of a posted
# message's time in the room service (docs/benchmarks.md, fan-out).
PING_AFTER_IDLE_S = 1.0


def _mark_idle(_dbapi_connection: Any, record: Any) -> None:
    if record is not None:
        record.info["idle_since"] = time.monotonic()


def _check_alive(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed the connection")
    if time.monotonic() - record.info.get("idle_since", 0.0) <= PING_AFTER_IDLE_S:
        return
    try:
        # A simple query (no prepared statement), outside any transaction.
        dbapi_connection.run_async(lambda connection: connection.execute("SELECT 1"))
    except Exception as exc:
        raise DisconnectionError("the connection failed its ping") from exc


_ENGINE_FACTORIES: dict[str, Callable[[URL], AsyncEngine]] = {
    "sqlite": _sqlite_engine,
    "postgresql": _postgres_engine,
}
