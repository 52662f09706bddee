"""Fixtures shared by every test in the repository (unit tests beside services included)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.room.store.sql.database import create_engine, migrate
from tests.support.client import Api
from tests.support.databases import (
    PostgresUnavailable,
    create_postgres_database,
    drop_postgres_database,
    skip_or_fail,
    sqlite_url,
)
from tests.support.stack import Stack

# ---------------------------------------------------------------------------------------------
# Database fixtures: every test that takes them runs once on SQLite and once on PostgreSQL.
# ---------------------------------------------------------------------------------------------


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of an empty database: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    try:
        url = await create_postgres_database()
    except PostgresUnavailable as error:
        skip_or_fail(error)
    try:
        yield url
    finally:
        await drop_postgres_database(url)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated engine on `database_url`."""
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        yield engine
    finally:
        await engine.dispose()


# ---------------------------------------------------------------------------------------------
# Service fixtures: real room service and gateway processes on free loopback ports.
# ---------------------------------------------------------------------------------------------


@pytest.fixture
async def stack(database_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    """A running room service and one gateway on `database_url` (SQLite and PostgreSQL)."""
    running = Stack(tmp_path, database_url)
    try:
        await running.start(gateways=1)
        yield running
    except BaseException:
        print(running.logs())
        raise
    finally:
        await running.stop()


@pytest.fixture
async def api(stack: Stack) -> AsyncIterator[Api]:
    """A REST client for the stack's first gateway."""
    client = Api(stack.base_url())
    try:
        yield client
    finally:
        await client.close()
