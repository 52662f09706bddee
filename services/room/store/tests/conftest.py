"""The store contract: these suites run against every store, opened the way the service opens it.

`store` comes from `open_store` on each database the `database_url` fixture gives (SQLite and
PostgreSQL today; DynamoDB on a moto server joins when its store does), and the tests use only
the protocols of `services/room/store/protocol.py`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.room.store.registry import Store, open_store


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened = await open_store(database_url)
    try:
        yield opened
    finally:
        await opened.close()
