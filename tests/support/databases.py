"""Throwaway databases for tests: a SQLite file, or a fresh PostgreSQL database per use."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import asyncpg
import pytest
from sqlalchemy import make_url

from services.room.store.registry import default_url

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
CONNECT_TIMEOUT_S = 5.0


class PostgresUnavailable(Exception):
    """The PostgreSQL server for tests cannot be reached."""


def sqlite_url(directory: Path) -> str:
    """The URL of a SQLite database file in `directory`."""
    return default_url(directory)


def postgres_admin_url() -> str:
    """A libpq URL of the server's maintenance database (CHIMERA_TEST_POSTGRES_URL overrides)."""
    return os.environ.get("CHIMERA_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


async def create_postgres_database() -> str:
    """Create an empty database and return its SQLAlchemy (asyncpg) URL."""
    name = f"chimera_test_{secrets.token_hex(6)}"
    connection = await _connect_admin()
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    url = make_url(postgres_admin_url()).set(drivername="postgresql+asyncpg", database=name)
    return url.render_as_string(hide_password=False)


async def drop_postgres_database(url: str) -> None:
    """Drop the database `url` names, disconnecting anyone still using it."""
    name = make_url(url).database
    if not name or not name.startswith("chimera_test_"):
        raise ValueError(f"refusing to drop {name!r}: not a test database")
    connection = await _connect_admin()
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def disconnect_sessions(url: str) -> int:
    """End every session on the database `url` names, as a server restart would; how many."""
    connection = await _connect_admin()
    try:
        return len(
            await connection.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = $1 AND pid <> pg_backend_pid()",
                make_url(url).database,
            )
        )
    finally:
        await connection.close()


@contextmanager
def postgres_database() -> Iterator[str]:
    """Sync form for tests without an event loop: yields a fresh database's URL, then drops it."""
    url = asyncio.run(create_postgres_database())
    try:
        yield url
    finally:
        asyncio.run(drop_postgres_database(url))


def skip_or_fail(error: PostgresUnavailable) -> NoReturn:
    """Skip the test, or fail it under CI, where PostgreSQL is required."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{error} (CI=true requires PostgreSQL)", pytrace=False)
    pytest.skip(str(error))


async def _connect_admin() -> asyncpg.Connection:
    admin_url = postgres_admin_url()
    try:
        return await asyncpg.connect(admin_url, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, asyncpg.PostgresError) as error:
        shown = make_url(admin_url).render_as_string(hide_password=True)
        reason = str(error) or type(error).__name__
        raise PostgresUnavailable(f"PostgreSQL not reachable at {shown}: {reason}") from error
