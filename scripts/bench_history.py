"""Benchmark: a 50-message history page at --big stored messages against --small, per database.

Keyset pagination should make a page cost the same however long the history is: the printed
ratio big/small should stay at or under 1.5x, at p50 and at p99. Pages are asked for at
places spread over the whole history (the same places, as fractions, in both sizes). Each size gets its own freshly filled database;
the measured calls go through RoomRepository.load_history on an engine built exactly as the
room service builds it, alternating small and big so drift hits both alike.

    python scripts/bench_history.py --db both --big 1000000 --small 10000 --rounds 500
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy import insert, make_url, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from services.room.store.records import MessageRecord
from services.room.store.registry import default_url
from services.room.store.sql.database import create_engine, migrate
from services.room.store.sql.models import Message, Room
from services.room.store.sql.repository import RoomRepository

PAGE = 50
TARGET_RATIO = 1.5
WARMUP_ROUNDS = 20
SQLITE_BATCH = 20_000
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
PADDING = "lorem ipsum dolor sit amet " * 3


@dataclass
class Filled:
    """A database holding one room with `count` messages."""

    engine: AsyncEngine
    repo: RoomRepository
    room_id: str
    count: int


# A case asks for one page of `f` at `where` (0..1: how far into the history), so that the calls
# of a run page across the whole range instead of asking for one page the caches already hold.
Case = Callable[[Filled, float], Awaitable[tuple[list[MessageRecord], bool]]]


def _seq(f: Filled, where: float) -> int:
    """A seq at `where` through the history, with a full page on either side of it."""
    return PAGE + 1 + int(where * (f.count - 2 * PAGE - 1))


CASES: dict[str, Case] = {
    "newest page": lambda f, _where: f.repo.load_history(
        f.room_id, before=None, after=None, limit=PAGE
    ),
    "before=anywhere": lambda f, where: f.repo.load_history(
        f.room_id, before=_seq(f, where), after=None, limit=PAGE
    ),
    "after=anywhere": lambda f, where: f.repo.load_history(
        f.room_id, before=None, after=_seq(f, where), limit=PAGE
    ),
}


async def fill_sqlite(engine: AsyncEngine, room_id: str, count: int) -> None:
    """Insert `count` messages with executemany batches."""
    async with engine.connect() as conn:
        # A big page cache only for this loading connection; the measured engine is untouched.
        await conn.exec_driver_sql("PRAGMA cache_size=-262144")
        await conn.commit()
        for start in range(1, count + 1, SQLITE_BATCH):
            rows = [
                _row(room_id, seq) for seq in range(start, min(start + SQLITE_BATCH, count + 1))
            ]
            await conn.execute(insert(Message), rows)
            await conn.commit()


async def fill_postgres(engine: AsyncEngine, room_id: str, count: int) -> None:
    """Insert `count` messages with one INSERT … SELECT generate_series."""
    statement = text(
        "INSERT INTO messages (id, room_id, seq, author_id, author_name, author_kind, content,"
        " reply_to, status, client_msg_id, created_at)"
        " SELECT gen_random_uuid()::text, CAST(:room_id AS text), s, 'user-' || (s % 5),"
        " 'User ' || (s % 5), 'human', 'message ' || s || ' ' || CAST(:padding AS text), NULL,"
        " 'complete', 'c-' || s, CAST(:epoch AS timestamptz) + s * interval '1 millisecond'"
        " FROM generate_series(1, CAST(:count AS bigint)) AS s"
    )
    async with engine.begin() as conn:
        await conn.execute(
            statement, {"room_id": room_id, "padding": PADDING, "epoch": EPOCH, "count": count}
        )


def _row(room_id: str, seq: int) -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "room_id": room_id,
        "seq": seq,
        "author_id": f"user-{seq % 5}",
        "author_name": f"User {seq % 5}",
        "author_kind": "human",
        "content": f"message {seq} {PADDING}",
        "reply_to": None,
        "status": "complete",
        "client_msg_id": f"c-{seq}",
        "created_at": EPOCH + timedelta(milliseconds=seq),
    }


FILLERS = {"sqlite": fill_sqlite, "postgresql": fill_postgres}


@asynccontextmanager
async def sqlite_database() -> AsyncIterator[str]:
    """A URL of a SQLite file in a temporary directory, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="chimera-bench-") as directory:
        yield default_url(Path(directory))


@asynccontextmanager
async def postgres_database(admin_url: str) -> AsyncIterator[str]:
    """A URL of a fresh PostgreSQL database, dropped afterwards."""
    name = f"chimera_bench_{secrets.token_hex(6)}"
    await _admin(admin_url, f'CREATE DATABASE "{name}"')
    try:
        url = make_url(admin_url).set(drivername="postgresql+asyncpg", database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        await _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin(admin_url: str, statement: str) -> None:
    connection = await asyncpg.connect(admin_url, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def filled(url: str, count: int) -> Filled:
    """Migrate the database at `url`, fill one room with `count` messages, open a fresh engine."""
    loader = create_engine(url)
    try:
        await migrate(loader)
        room = await RoomRepository(loader).create_room("bench", "user-0")
        started = time.perf_counter()
        await FILLERS[loader.dialect.name](loader, room.id, count)
        async with loader.begin() as conn:
            await conn.execute(update(Room).where(Room.id == room.id).values(last_seq=count))
            await conn.exec_driver_sql("ANALYZE")
        print(f"  filled {count:>9,} messages in {time.perf_counter() - started:6.1f} s")
    finally:
        await loader.dispose()
    engine = create_engine(url)
    return Filled(engine, RoomRepository(engine), room.id, count)


async def measure(small: Filled, big: Filled, rounds: int) -> dict[str, dict[str, list[float]]]:
    """Milliseconds per call, per case and size, alternating small and big calls."""
    spots = random.Random(1)
    for _ in range(WARMUP_ROUNDS):
        for case in CASES.values():
            await case(small, spots.random())
            await case(big, spots.random())
    samples: dict[str, dict[str, list[float]]] = {name: {"small": [], "big": []} for name in CASES}
    for _ in range(rounds):
        where = spots.random()  # the same place, as a fraction, in both sizes
        for name, case in CASES.items():
            for size, target in (("small", small), ("big", big)):
                started = time.perf_counter_ns()
                page, _ = await case(target, where)
                samples[name][size].append((time.perf_counter_ns() - started) / 1e6)
                assert len(page) == PAGE
    return samples


def report(db: str, small: int, big: int, samples: dict[str, dict[str, list[float]]]) -> None:
    """Print p50/p99 per case and the big/small ratios."""
    print(f"\n{db}: {PAGE}-message page, {small:,} vs {big:,} stored messages (ms)")
    print(
        f"  {'case':<14} {'small p50':>9} {'small p99':>9} {'big p50':>9} {'big p99':>9}"
        f" {'ratio p50':>9} {'ratio p99':>9}"
    )
    for name, sizes in samples.items():
        s50, s99 = _percentiles(sizes["small"])
        b50, b99 = _percentiles(sizes["big"])
        worst = max(b50 / s50, b99 / s99)  # the tail is judged too, not only the median
        verdict = "ok" if worst <= TARGET_RATIO else f"OVER {TARGET_RATIO}x"
        print(
            f"  {name:<14} {s50:9.3f} {s99:9.3f} {b50:9.3f} {b99:9.3f}"
            f" {b50 / s50:8.2f}x {b99 / s99:8.2f}x  {verdict}"
        )


def _percentiles(values: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[98]


async def bench(db: str, args: argparse.Namespace) -> None:
    """Fill a small and a big database of kind `db`, then measure both."""
    print(f"\n{db}: filling a small and a big database")
    async with _database(db, args) as small_url, _database(db, args) as big_url:
        small = await filled(small_url, args.small)
        big = await filled(big_url, args.big)
        try:
            samples = await measure(small, big, args.rounds)
        finally:
            await small.engine.dispose()
            await big.engine.dispose()
    report(db, args.small, args.big, samples)


def _database(db: str, args: argparse.Namespace) -> AbstractAsyncContextManager[str]:
    return sqlite_database() if db == "sqlite" else postgres_database(args.postgres_url)


def main() -> None:
    """Parse arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("CHIMERA_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="libpq URL of the server's maintenance database",
    )
    args = parser.parse_args()
    for db in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        asyncio.run(bench(db, args))


if __name__ == "__main__":
    main()
