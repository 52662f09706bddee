"""Fixtures and helpers the integration modules share: a client and the members a test opens.

A module binds the fixtures it wants by name (`api = api_fixture()`, `members = members_fixture()`);
`api` needs the module's own `shared` stack fixture.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import pytest
import pytest_asyncio
import websockets

from tests.support.client import DATABASES, Api, Member, from_ip, new_ip
from tests.support.providers import FakeProvider
from tests.support.stack import Stack


def database_fixture() -> Callable[[pytest.FixtureRequest], str]:
    """A module-scoped `database` fixture: each of DATABASES in turn."""

    @pytest.fixture(scope="module", params=DATABASES, name="database")
    def database(request: pytest.FixtureRequest) -> str:
        return str(request.param)

    return database


def api_fixture(*, own_address: bool = False) -> Callable[[Stack], AsyncIterator[Api]]:
    """An `api` fixture: a client of the module's `shared` stack, closed at the end of each test.

    With `own_address`, each client comes from an address of its own, so per-IP limits of other
    tests never touch it.
    """

    @pytest_asyncio.fixture(loop_scope="module", name="api")
    async def api(shared: Stack) -> AsyncIterator[Api]:
        client = Api(shared.base_url(), headers=from_ip(new_ip()) if own_address else None)
        try:
            yield client
        finally:
            await client.close()

    return api


def members_fixture() -> Callable[[], AsyncIterator[list[Member]]]:
    """A `members` fixture: the members a test opens, all closed at its end."""

    @pytest_asyncio.fixture(loop_scope="module", name="members")
    async def members() -> AsyncIterator[list[Member]]:
        async with closing_members() as opened:
            yield opened

    return members


@asynccontextmanager
async def closing_members() -> AsyncIterator[list[Member]]:
    """A list to put members in; each is closed on the way out."""
    opened: list[Member] = []
    try:
        yield opened
    finally:
        await asyncio.gather(*(m.close() for m in opened), return_exceptions=True)


@contextmanager
def fresh_hold(provider: FakeProvider) -> Iterator[None]:
    """Nothing an earlier test held stays held, the provider's events start afresh, and whatever
    it holds is let go on the way out."""
    provider.release.set()
    provider.holding, provider.release, provider.stream_closed = (
        asyncio.Event(),
        asyncio.Event(),
        asyncio.Event(),
    )
    try:
        yield
    finally:
        provider.release.set()


async def connected(
    stack: Stack,
    room_id: str,
    token: str | None,
    opened: list[Member],
    gateway: int = 0,
    *,
    headers: dict[str, str] | None = None,
    last_seq: int | None = None,
    audio: str | None = None,
) -> Member:
    """A member of `room_id` through gateway `gateway`, connected; `opened` gets it to close."""
    member = Member(stack.ws_url(room_id, gateway), token, headers=headers or {})
    opened.append(member)
    await member.connect(last_seq, audio)
    return member


async def hello_close_code(stack: Stack, room_id: str, token: str) -> int:
    """Say hello with `token` on a fresh socket; the code the gateway closes it with."""
    async with websockets.connect(stack.ws_url(room_id)) as ws:
        await ws.send(json.dumps({"type": "hello", "token": token}))
        with pytest.raises(websockets.ConnectionClosed):
            while True:
                await ws.recv()
    assert ws.close_code is not None
    return ws.close_code


def error(reply: httpx.Response, status: int) -> dict[str, Any]:
    """The error body of a reply that must have `status`."""
    assert reply.status_code == status, reply.text
    body: dict[str, Any] = reply.json()["error"]
    return body
