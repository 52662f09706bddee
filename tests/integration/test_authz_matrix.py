"""The authorization matrix (tests/support/authz.py) against real processes: every REST route and
WebSocket frame type, as each principal, gets exactly what the table says."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import websockets
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts
from starlette.routing import Route, WebSocketRoute

from services.gateway.app import create_app
from services.gateway.config import GatewaySettings
from services.gateway.ws.protocol import CLIENT_TYPES
from tests.support.authz import (
    PRINCIPALS,
    REST_TABLE,
    STATUS_CODES,
    WS_ROUTE,
    WS_TABLE,
    RestRow,
    WsRow,
    rest_cells,
    ws_cells,
)
from tests.support.authz_world import STACK_ENV, World, build_world, cookieless_client, ws_outcome
from tests.support.client import DATABASES, auth, running_ai_stack
from tests.support.providers import openai_server

pytestmark = [pytest.mark.integration]
in_module_loop = pytest.mark.asyncio(loop_scope="module")  # the async tests share the stack's loop

MODEL = "fake"
ROOM_CLOSE_REASON = "Room not found or access denied."


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=DATABASES)
async def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    """One stack per database: every principal, the rooms, and a finished persona reply."""
    async with openai_server(text="Done.") as provider:
        registry = (
            f'[[models]]\nid = "{MODEL}"\nbackend = "openai_compatible"\n'
            f'base_url = "{provider.base_url}"\nmodel = "fake"\n'
        )
        workdir = tmp_path_factory.mktemp(f"authz-{request.param}")
        voices = workdir / "voices.toml"  # a fake voice: a tone, at once
        voices.write_text('[[voices]]\nid = "joe"\nbackend = "fake"\nmodel = "tone"\n')
        async with running_ai_stack(request.param, workdir, registry, STACK_ENV) as stack:
            await stack.start_tts(voices)
            async with cookieless_client(stack.base_url()) as http:
                yield await build_world(stack, http, MODEL)


def declared_routes() -> set[tuple[str, str]]:
    """(method, path) of every route the gateway app has; WebSocket routes as "WS"."""
    routes: set[tuple[str, str]] = set()
    for context in iter_route_contexts(create_app(GatewaySettings()).routes):
        route, path = context.original_route, str(context.path)
        if isinstance(route, APIWebSocketRoute | WebSocketRoute):
            routes.add(("WS", path))
        elif isinstance(route, APIRoute | Route):
            routes |= {(method, path) for method in route.methods or () if method != "HEAD"}
        else:  # a mount or anything else new: the table must learn about it
            routes.add((type(route).__name__, path))
    return routes


def test_the_table_covers_every_route_and_only_those() -> None:
    declared = declared_routes()
    covered = {row.key for row in REST_TABLE} | {("WS", WS_ROUTE)}
    assert sorted(declared - covered) == [], "routes the authorization table does not cover"
    assert sorted(covered - declared) == [], "table rows for routes the gateway does not have"


def test_the_table_covers_every_client_frame_type() -> None:
    assert {row.frame for row in WS_TABLE} == set(CLIENT_TYPES)


def test_every_row_names_every_principal() -> None:
    for row in (*REST_TABLE, *WS_TABLE):
        assert set(row.expect) == set(PRINCIPALS), row.id


@in_module_loop
@pytest.mark.parametrize(
    ("row", "principal"), rest_cells(), ids=[f"{r.id}-{p}" for r, p in rest_cells()]
)
async def test_rest(world: World, row: RestRow, principal: str) -> None:
    if principal in world.unavailable:
        pytest.fail(f"no {principal} account: {world.unavailable[principal]}")
    call = await row.prepare(world, principal)
    headers = auth(call.token) if call.token else {}
    reply = await world.http.request(row.method, call.path, json=call.json, headers=headers)
    expected = row.expect[principal]
    assert reply.status_code == expected, (
        f"{row.id} as {principal}: expected {expected}, got {reply.status_code}: {reply.text[:300]}"
    )
    if expected >= 400:
        body = reply.json()
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
        assert body["error"]["code"] == row.codes.get(principal, STATUS_CODES[expected]), body
        if expected == 404 and row.room_404:
            assert body == world.room_not_found, "a 404 that tells the room exists"
    elif row.check is not None:
        row.check(world, principal, reply)


@in_module_loop
@pytest.mark.parametrize(
    ("row", "principal"), ws_cells(), ids=[f"{r.id}-{p}" for r, p in ws_cells()]
)
async def test_websocket(world: World, row: WsRow, principal: str) -> None:
    if principal in world.unavailable:
        pytest.fail(f"no {principal} account: {world.unavailable[principal]}")
    outcome = await ws_outcome(world, row, principal)
    assert outcome == row.expect[principal], f"{row.id} as {principal}"


@in_module_loop
async def test_a_room_one_may_not_enter_closes_like_a_missing_room(world: World) -> None:
    """Code and reason alike: the close does not tell whether the room exists."""

    async def close_of(room: str) -> tuple[int | None, str | None]:
        url = world.stack.ws_url(world.room(room))
        async with websockets.connect(url) as ws:
            await ws.send(json.dumps({"type": "hello", "token": world.token("non_member")}))
            with pytest.raises(websockets.ConnectionClosed):
                while True:
                    await ws.recv()
        return ws.close_code, ws.close_reason

    assert await close_of("invite") == await close_of("missing") == (4403, ROOM_CLOSE_REASON)
