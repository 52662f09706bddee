"""What every repository of the room store shares: sessions and the SQLite writer and reader."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from services.room.store.sql.database import sqlite_reader, sqlite_writer

T = TypeVar("T")

# One lock per engine, shared by every repository on it: SQLite has one writer at a time.
_WRITE_LOCKS: WeakKeyDictionary[Engine, asyncio.Lock] = WeakKeyDictionary()


class Repository:
    """Base of the store's repositories; every public method is one transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.dialect = engine.dialect.name
        # SQLite has one writer at a time. Writers wait for it here, in order, rather than in
        # SQLite's busy handler, which polls with sleeps of up to 25 ms (the fan-out p99).
        self._write_lock: asyncio.Lock | None = None
        if self.dialect == "sqlite":
            self._write_lock = _WRITE_LOCKS.setdefault(engine.sync_engine, asyncio.Lock())

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncSession]:
        """A session in a begun transaction that writes."""
        async with self._write_lock or contextlib.nullcontext(), self._sessions.begin() as session:
            yield session

    async def _write_core(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(connection, *args)` as one write transaction of Core statements.

        For the hot paths: on a SQLite file the whole transaction is one hop to the writer
        thread; elsewhere it runs on a pooled async connection.
        """
        writer = sqlite_writer(self._engine)
        async with self._write_lock or contextlib.nullcontext():
            if writer is not None:
                return await writer.run(fn, *args)
            async with self._engine.begin() as connection:
                return await connection.run_sync(fn, *args)

    async def _read_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(session, *args)` with a synchronous ORM session, as one read transaction.

        For the hot reads: on a SQLite file one hop to the reader thread; elsewhere the async
        session runs it (SQLAlchemy's run_sync), each query awaiting the driver.
        """
        reader = sqlite_reader(self._engine)
        if reader is not None:
            return await reader.run(_in_session, fn, *args)
        async with self._sessions() as session:
            return await session.run_sync(fn, *args)


def _in_session(connection: Connection, fn: Callable[..., T], *args: Any) -> T:
    with Session(bind=connection, expire_on_commit=False) as session:
        return fn(session, *args)
