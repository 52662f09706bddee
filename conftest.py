"""Fixtures shared by every test in the repository (unit tests beside services included)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import make_url
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

pytest_plugins = ["pytester"]

# Each test module declares its tier with a module-level marker: `pytestmark = pytest.mark.unit`
# (in-process), `integration` (real room service and gateway processes) or `e2e` (`chimera up`).
TIERS = ("unit", "integration", "e2e")
NO_CUDA = "needs a CUDA device (torch.cuda.is_available() is false or torch is not installed)"

# ---------------------------------------------------------------------------------------------
# Markers: a test without a tier fails collection; `gpu` tests skip where there is no CUDA device.
# ---------------------------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects: `-m unit` still refuses untiered tests
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse tests without a tier marker; skip `gpu` tests when CUDA is unavailable."""
    untiered = sorted(
        {
            item.nodeid.split("::")[0]
            for item in items
            if not any(item.get_closest_marker(tier) for tier in TIERS)
        }
    )
    if untiered:
        raise pytest.UsageError(
            f"tests without a tier marker (one of {', '.join(TIERS)}); add e.g. "
            "`pytestmark = pytest.mark.unit` to: " + ", ".join(untiered)
        )
    gpu = [item for item in items if item.get_closest_marker("gpu")]
    if gpu and not cuda_available():
        for item in gpu:
            item.add_marker(pytest.mark.skip(reason=NO_CUDA))


def cuda_available() -> bool:
    """Whether torch sees a CUDA device; torch is imported only when a `gpu` test is collected."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


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


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated to the newest revision, copied by each test that wants one."""
    directory = tmp_path_factory.mktemp("migrated")

    async def build() -> None:
        engine = create_engine(sqlite_url(directory))
        try:
            await migrate(engine)
        finally:
            await engine.dispose()  # the last connection checkpoints the WAL into the file

    asyncio.run(build())
    return Path(make_url(sqlite_url(directory)).database or "")


@pytest.fixture
async def engine(database_url: str, migrated_sqlite: Path) -> AsyncIterator[AsyncEngine]:
    """A migrated engine on `database_url` (SQLite: a copy of one file migrated per session)."""
    url = make_url(database_url)
    copied = url.get_backend_name() == "sqlite" and bool(url.database)
    if copied:
        Path(url.database or "").parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(migrated_sqlite, url.database or "")  # the schema, ~0.1 s less a test
    engine = create_engine(database_url)
    try:
        if not copied:
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
