"""The gateway's own rules against fake services: cookies, CSRF, limits, socket closes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from services.common.pb import account_pb2 as apb
from services.common.pb import room_pb2 as pb
from services.gateway.app import create_app
from services.gateway.auth import CSRF_COOKIE, SESSION_COOKIE
from services.gateway.config import GatewaySettings
from services.gateway.tests.fakes import FakeServices

pytestmark = pytest.mark.unit

OWNER, MEMBER, VIEWER = pb.ROOM_ROLE_OWNER, pb.ROOM_ROLE_MEMBER, pb.ROOM_ROLE_VIEWER


def gateway(fakes: FakeServices, tmp_path: Path, **settings: Any) -> TestClient:
    return TestClient(
        create_app(
            GatewaySettings(
                room_addr=f"127.0.0.1:{fakes.port}",
                internal_secret=SecretStr("test"),
                data_dir=tmp_path,
                frontend_dir=tmp_path / "dist",
                **settings,
            )
        )
    )


@pytest.fixture
def http(fakes: FakeServices, tmp_path: Path) -> Iterator[TestClient]:
    with gateway(fakes, tmp_path) as client:
        yield client


def register(http: TestClient, username: str = "ana") -> tuple[str, str]:
    """Register; return (account id, token). The client's cookie jar holds the session."""
    reply = http.post("/api/auth/register", json={"username": username, "password": "pw123456"})
    assert reply.status_code == 201, reply.text
    return reply.json()["user"]["id"], reply.json()["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def close_code(ws: WebSocketTestSession) -> int:
    """Read until the server closes the socket; return its code."""
    while True:
        message = ws.receive()
        if message["type"] == "websocket.close":
            ws.__dict__["closed_by_server"] = True
            return int(message["code"])


@contextmanager
def connect(http: TestClient, path: str, **kwargs: Any) -> Iterator[WebSocketTestSession]:
    """A socket that, on leaving, hangs up and waits until the gateway is done with it.

    TestClient cancels the handler right after a client's close; waiting for the server's
    closing frame keeps that cancellation from landing in the gateway's cleanup.
    """
    with http.websocket_connect(path, **kwargs) as ws:
        try:
            yield ws
        finally:
            if not ws.__dict__.get("closed_by_server"):
                ws.close(1000)
                close_code(ws)


def hello(ws: WebSocketTestSession, token: str | None) -> dict[str, Any]:
    ws.send_json({"type": "hello", **({"token": token} if token else {})})
    welcome: dict[str, Any] = ws.receive_json()
    assert welcome["type"] == "welcome", welcome
    return welcome


# --- cookies and CSRF ----------------------------------------------------------------------


def test_register_sets_the_session_and_csrf_cookies(http: TestClient) -> None:
    reply = http.post("/api/auth/register", json={"username": "ana", "password": "pw123456"})
    assert reply.status_code == 201
    assert reply.json()["user"] == {
        "id": reply.json()["user"]["id"],
        "name": "ana",
        "username": "ana",
        "kind": "user",
        "admin": False,
    }
    set_cookies = reply.headers.get_list("set-cookie")
    session = next(c for c in set_cookies if c.startswith(f"{SESSION_COOKIE}="))
    csrf = next(c for c in set_cookies if c.startswith(f"{CSRF_COOKIE}="))
    assert "HttpOnly" in session and "SameSite=lax" in session and "Secure" not in session
    assert "HttpOnly" not in csrf
    assert http.get("/api/me").json()["username"] == "ana"  # the cookie alone signs in


def test_cookies_are_secure_when_configured(fakes: FakeServices, tmp_path: Path) -> None:
    with gateway(fakes, tmp_path, cookie_secure=True) as http:
        reply = http.post("/api/session", json={"name": "Gus"})
        assert reply.status_code == 201
        assert all("Secure" in c for c in reply.headers.get_list("set-cookie"))


def test_cookie_writes_need_the_csrf_header_and_bearer_writes_do_not(http: TestClient) -> None:
    _, token = register(http)
    refused = http.post("/api/tokens", json={"name": "cli"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_failed"
    wrong = http.post("/api/tokens", json={"name": "cli"}, headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403
    csrf = http.cookies[CSRF_COOKIE]
    ok = http.post("/api/tokens", json={"name": "cli"}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201, ok.text
    http.cookies.clear()
    assert http.post("/api/tokens", json={"name": "b"}, headers=bearer(token)).status_code == 201


def test_me_restores_a_lost_csrf_cookie(http: TestClient) -> None:
    register(http)
    del http.cookies[CSRF_COOKIE]
    reply = http.get("/api/me")
    assert reply.status_code == 200 and CSRF_COOKIE in reply.cookies


def test_logout_ends_the_session_and_clears_the_cookies(http: TestClient) -> None:
    _, token = register(http)
    reply = http.post("/api/auth/logout", headers=bearer(token))
    assert reply.status_code == 204
    assert any("Max-Age=0" in c for c in reply.headers.get_list("set-cookie"))
    assert http.get("/api/me", headers=bearer(token)).status_code == 401


def test_a_failed_login_reads_the_same_whatever_the_reason(http: TestClient) -> None:
    register(http)
    for body in (
        {"username": "ana", "password": "wrong-pw"},
        {"username": "nobody", "password": "x"},
    ):
        reply = http.post("/api/auth/login", json=body)
        assert reply.status_code == 401
        assert reply.json()["error"]["message"] == "Invalid username or password."


def test_guests_cannot_make_tokens(http: TestClient) -> None:
    token = http.post("/api/session", json={"name": "Gus"}).json()["token"]
    reply = http.post("/api/tokens", json={"name": "x"}, headers=bearer(token))
    assert reply.status_code == 403 and reply.json()["error"]["code"] == "permission_denied"


def test_per_ip_limits_answer_429_with_retry_after(fakes: FakeServices, tmp_path: Path) -> None:
    with gateway(fakes, tmp_path, login_rate_per_min=2) as http:
        body = {"username": "x", "password": "yyyyyyyy"}
        assert [http.post("/api/auth/login", json=body).status_code for _ in range(2)] == [401, 401]
        refused = http.post("/api/auth/login", json=body)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limited"
        assert int(refused.headers["retry-after"]) >= 1
        assert http.post("/api/session", json={"name": "Gus"}).status_code == 201  # own bucket


# --- WebSockets ----------------------------------------------------------------------------


def test_the_session_cookie_signs_a_socket_in(http: TestClient, fakes: FakeServices) -> None:
    user_id, _ = register(http)
    room_id = fakes.rooms.add_room({user_id: OWNER})
    with connect(http, f"/ws/room/{room_id}") as ws:
        welcome = hello(ws, None)
        assert welcome["user"]["id"] == user_id
        assert welcome["room"]["role"] == "owner"


def test_another_sites_origin_is_refused(http: TestClient, fakes: FakeServices) -> None:
    user_id, token = register(http)
    room_id = fakes.rooms.add_room({user_id: OWNER})
    with pytest.raises(WebSocketDisconnect) as refused:
        with http.websocket_connect(
            f"/ws/room/{room_id}", headers={"Origin": "https://evil.example"}
        ):
            pass
    assert refused.value.code == 4403
    with connect(http, f"/ws/room/{room_id}", headers={"Origin": "http://testserver"}) as ws:
        hello(ws, token)


@pytest.mark.parametrize("which", ["not-a-member", "missing"])
def test_no_access_and_no_room_close_alike(
    http: TestClient, fakes: FakeServices, which: str
) -> None:
    _, token = register(http)
    room_id = fakes.rooms.add_room({}) if which == "not-a-member" else "nope"
    with connect(http, f"/ws/room/{room_id}") as ws:
        ws.send_json({"type": "hello", "token": token})
        assert close_code(ws) == 4403


def test_a_join_the_room_service_refuses_closes_4403(http: TestClient, fakes: FakeServices) -> None:
    user_id, token = register(http)
    room_id = fakes.rooms.add_room({user_id: MEMBER})
    fakes.rooms.deny_joins.add(user_id)
    with connect(http, f"/ws/room/{room_id}") as ws:
        ws.send_json({"type": "hello", "token": token})  # no welcome: the join was refused
        assert close_code(ws) == 4403


def test_logout_closes_that_sessions_sockets_1008(http: TestClient, fakes: FakeServices) -> None:
    user_id, token = register(http)
    room_id = fakes.rooms.add_room({user_id: OWNER})
    with connect(http, f"/ws/room/{room_id}") as ws:
        hello(ws, token)
        assert http.post("/api/auth/logout", headers=bearer(token)).status_code == 204
        assert close_code(ws) == 1008


def test_a_revocation_from_the_watch_stream_closes_1008(
    http: TestClient, fakes: FakeServices
) -> None:
    user_id, token = register(http)
    room_id = fakes.rooms.add_room({user_id: OWNER})
    with connect(http, f"/ws/room/{room_id}") as ws:
        hello(ws, token)
        fakes.accounts.revoke(apb.Revocation(account_id=user_id))
        assert close_code(ws) == 1008


def test_a_revocation_lost_in_a_stream_gap_is_caught_on_reconnect(
    http: TestClient, fakes: FakeServices
) -> None:
    user_id, token = register(http)
    room_id = fakes.rooms.add_room({user_id: OWNER})
    with connect(http, f"/ws/room/{room_id}") as ws:
        hello(ws, token)
        fakes.accounts.revoke_silently(token)
        fakes.accounts.end_watches()
        assert close_code(ws) == 1008


def test_removal_closes_4403_and_a_viewer_gets_errors_not_a_close(
    http: TestClient, fakes: FakeServices
) -> None:
    owner_id, _ = register(http, "owner")
    viewer_id, viewer_token = register(http, "viewer")
    room_id = fakes.rooms.add_room({owner_id: OWNER, viewer_id: VIEWER})
    with connect(http, f"/ws/room/{room_id}") as ws:
        assert hello(ws, viewer_token)["room"]["role"] == "viewer"
        ws.send_json({"type": "send", "content": "hi", "client_msg_id": "c1"})
        error = ws.receive_json()
        assert (error["code"], error["client_msg_id"]) == ("permission_denied", "c1")
        ws.send_json({"type": "interrupt", "message_id": "m1"})
        assert ws.receive_json()["code"] == "permission_denied"
        ws.send_json({"type": "autopilot", "enabled": True})
        assert ws.receive_json()["code"] == "permission_denied"
        ws.send_json({"type": "ping"})
        assert ws.receive_json()["type"] == "pong"
        fakes.rooms.remove_member(room_id, viewer_id)
        assert close_code(ws) == 4403


def test_a_flood_is_refused_then_closed_4429(fakes: FakeServices, tmp_path: Path) -> None:
    with gateway(fakes, tmp_path, ws_rate=0.001, ws_burst=3, ws_max_strikes=4) as http:
        user_id, token = register(http)
        room_id = fakes.rooms.add_room({user_id: OWNER})
        with connect(http, f"/ws/room/{room_id}") as ws:
            hello(ws, token)
            for _ in range(3 + 4):
                ws.send_json({"type": "ping"})
            frames = []
            while (message := ws.receive())["type"] != "websocket.close":
                frames.append(message["text"])
            ws.__dict__["closed_by_server"] = True
            assert message["code"] == 4429
            assert sum('"pong"' in f for f in frames) == 3
            assert sum('"rate_limited"' in f for f in frames) == 3  # the 4th strike closes


def test_a_connection_over_the_per_account_cap_closes_4429(
    fakes: FakeServices, tmp_path: Path
) -> None:
    with gateway(fakes, tmp_path, ws_max_per_user=1) as http:
        user_id, token = register(http)
        room_id = fakes.rooms.add_room({user_id: OWNER})
        with connect(http, f"/ws/room/{room_id}") as first:
            hello(first, token)
            with connect(http, f"/ws/room/{room_id}") as second:
                second.send_json({"type": "hello", "token": token})
                assert close_code(second) == 4429
        with connect(http, f"/ws/room/{room_id}") as again:  # freed on close
            hello(again, token)
