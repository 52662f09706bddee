"""What every repository of the room store shares: sessions and the SQLite writer queue."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from weakref import WeakKeyDictionary

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

# One lock per engine, shared by every repository on it: SQLite has one writer at a time.
_WRITE_LOCKS: WeakKeyDictionary[Engine, asyncio.Lock] = WeakKeyDictionary()


class Repository:
    """Base of the store's repositories; every public method is one transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.dialect = engine.dialect.name
        # SQLite has one writer at a time. Writers wait for it here, in order, rather than in
        # SQLite's busy handler, which polls with sleeps of up to 25 ms (the fan-out p99).
        self._write_lock: asyncio.Lock | None = None
        if self.dialect == "sqlite":
            self._write_lock = _WRITE_LOCKS.setdefault(engine.sync_engine, asyncio.Lock())

    @asynccontextmanager
    async def _write(self, *, begin: bool = True) -> AsyncIterator[AsyncSession]:
        """A session for a transaction that writes (begun unless `begin` is false)."""
        async with contextlib.AsyncExitStack() as stack:
            if self._write_lock is not None:
                await stack.enter_async_context(self._write_lock)
            maker = self._sessions.begin() if begin else self._sessions()
            yield await stack.enter_async_context(maker)
