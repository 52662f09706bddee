"""Security headers on every response and the request body cap."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from services.gateway.app import ChimeraApp
from services.gateway.errors import install_error_handlers
from services.gateway.middleware import CSP, BodyLimit

pytestmark = pytest.mark.unit

LIMIT = 1000


def app() -> FastAPI:
    app = ChimeraApp()
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=LIMIT)

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, Any]:
        return {"size": len(await request.body())}

    @app.post("/json")
    async def json_body(body: dict[str, Any]) -> dict[str, Any]:
        return {"keys": len(body)}

    @app.get("/boom")
    async def boom() -> dict[str, Any]:
        raise RuntimeError("internal detail")

    return app


@pytest.fixture
def http() -> Iterator[TestClient]:
    with TestClient(app(), raise_server_exceptions=False) as client:
        yield client


def assert_secure_headers(headers: dict[str, str] | object) -> None:
    assert headers["content-security-policy"] == CSP  # type: ignore[index]
    assert "frame-ancestors 'none'" in CSP and "script-src 'self'" in CSP
    assert headers["x-content-type-options"] == "nosniff"  # type: ignore[index]
    assert headers["referrer-policy"] == "no-referrer"  # type: ignore[index]
    assert headers["x-frame-options"] == "DENY"  # type: ignore[index]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("POST", "/echo", 200), ("GET", "/missing", 404), ("GET", "/boom", 500)],
)
def test_every_response_carries_the_security_headers(
    http: TestClient, method: str, path: str, status: int
) -> None:
    reply = http.request(method, path)
    assert reply.status_code == status
    assert_secure_headers(reply.headers)


def test_the_api_docs_page_gets_a_policy_its_scripts_can_run_under(http: TestClient) -> None:
    reply = http.get("/docs")
    assert reply.status_code == 200
    assert "cdn.jsdelivr.net" in reply.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in reply.headers["content-security-policy"]


def test_a_body_at_the_cap_is_read(http: TestClient) -> None:
    assert http.post("/echo", content=b"x" * LIMIT).json() == {"size": LIMIT}


def test_a_declared_length_over_the_cap_is_413_before_reading(http: TestClient) -> None:
    reply = http.post("/echo", content=b"x" * (LIMIT + 1))
    assert reply.status_code == 413
    assert reply.json() == {
        "error": {"code": "payload_too_large", "message": "Request body too large."}
    }
    assert_secure_headers(reply.headers)


@pytest.mark.parametrize("path", ["/echo", "/json"])
def test_a_streamed_body_over_the_cap_is_413(http: TestClient, path: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"a": "'
        for _ in range(20):
            yield b"x" * 100
        yield b'"}'

    reply = http.post(path, content=chunks(), headers={"Content-Type": "application/json"})
    assert reply.status_code == 413
    assert reply.json()["error"]["code"] == "payload_too_large"


def test_a_500_says_nothing_of_the_internals(http: TestClient) -> None:
    reply = http.get("/boom")
    assert reply.json() == {"error": {"code": "internal", "message": "Internal server error."}}
