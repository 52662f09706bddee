"""What the gateway's tests share: the in-process fake room and account services."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import grpc
import pytest

from services.gateway.tests.fakes import FakeServices


@pytest.fixture
def fakes() -> Iterator[FakeServices]:
    with FakeServices() as services:
        yield services


@pytest.fixture
async def channel(fakes: FakeServices) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{fakes.port}") as channel:
        yield channel
