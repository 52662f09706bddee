"""WebSocket edge cases: what a viewer is told, the confirmed role, a slow reader's close frame."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocket

from services.common.pb import room_pb2 as pb
from services.gateway.auth import Identity
from services.gateway.tests.fakes import FakeServices
from services.gateway.tests.test_app import close_code, connect, gateway, hello, register
from services.gateway.ws.connection import Connection
from services.gateway.ws.protocol import NO_ACCESS_REASON, close_for
from services.gateway.ws.transport import CLOSE_NOW

pytestmark = pytest.mark.unit


@pytest.fixture
def http(fakes: FakeServices, tmp_path: Path) -> Iterator[TestClient]:
    with gateway(fakes, tmp_path) as client:
        yield client


def test_a_viewer_is_told_it_cannot_stop_replies(http: TestClient, fakes: FakeServices) -> None:
    owner_id, _ = register(http, "owner")
    viewer_id, token = register(http, "viewer")
    room_id = fakes.rooms.add_room({owner_id: pb.ROOM_ROLE_OWNER, viewer_id: pb.ROOM_ROLE_VIEWER})
    with connect(http, f"/ws/room/{room_id}") as ws:
        hello(ws, token)
        ws.send_json({"type": "interrupt", "message_id": "m1"})
        error = ws.receive_json()
        assert (error["code"], error["message"]) == (
            "permission_denied",
            "Viewers cannot stop replies.",
        )


def test_welcome_has_the_role_the_join_confirmed(http: TestClient, fakes: FakeServices) -> None:
    owner_id, _ = register(http, "owner")
    user_id, token = register(http, "ana")
    room_id = fakes.rooms.add_room({owner_id: pb.ROOM_ROLE_OWNER}, access=pb.ROOM_ACCESS_OPEN)
    with connect(http, f"/ws/room/{room_id}") as ws:
        assert hello(ws, token)["room"]["role"] == "member"
        # The join committed the membership before welcome went out.
        assert fakes.rooms.rooms[room_id].roles[user_id] == pb.ROOM_ROLE_MEMBER


def test_a_resume_whose_replay_is_refused_closes_no_access(
    http: TestClient, fakes: FakeServices
) -> None:
    owner_id, token = register(http, "owner")
    room_id = fakes.rooms.add_room({owner_id: pb.ROOM_ROLE_OWNER})
    owner = pb.User(id=owner_id, name="owner")
    for text in ("one", "two"):
        fakes.rooms.post(room_id, owner, text)
    fakes.rooms.deny_history.add(owner_id)  # removed between the join and the replay
    with connect(http, f"/ws/room/{room_id}") as ws:
        ws.send_json({"type": "hello", "token": token, "last_seq": 1})
        assert close_code(ws) == 4403  # not 1013: reconnecting would be refused the same


class StuckSocket:
    """A peer that reads nothing: every ASGI send waits for ever; the transport can still close."""

    def __init__(self) -> None:
        self.closed_with: list[int] = []
        self.scope: dict[str, Any] = {"extensions": {CLOSE_NOW: self.close_now}}

    async def send_text(self, text: str) -> None:
        await asyncio.Future()

    async def close(self, code: int, reason: str) -> None:
        await asyncio.Future()  # as ASGI's close waits until the socket is writable

    def close_now(self, code: int, reason: str) -> bool:
        self.closed_with.append(code)
        return True


async def test_a_socket_that_fell_behind_gets_its_close_frame_1013() -> None:
    sock = StuckSocket()
    conn = Connection(cast(WebSocket, sock), Identity(id="u", name="U"), "room", max_queue=2)
    conn.start([])
    for n in range(5):
        conn.push(f'{{"type": "message", "n": {n}}}')
    async with asyncio.timeout(5):
        await conn.closed.wait()
    assert (conn.close_code, sock.closed_with) == (1013, [1013])


def test_refusals_close_no_access_without_telling_missing_from_forbidden_else_try_again() -> None:
    assert close_for("not_found") == close_for("permission_denied") == (4403, NO_ACCESS_REASON)
    assert close_for("unavailable")[0] == close_for("internal")[0] == 1013
