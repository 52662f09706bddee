"""What every repository of the room store shares: sessions and the SQLite writer queue."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.room.store.sql.database import sqlite_writer

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
