"""The gateway's HTTP layer before any authentication: request heads are capped (431), slow heads
and idle keep-alive connections are closed, open connections are capped (503), web-app paths that
map to no file are a quiet 404, and secrets in query strings never reach the access log."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
import websockets

from tests.support.client import poll_until, running_stack
from tests.support.raw_http import exchange
from tests.support.stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

MAX_CONNECTIONS = 3
# Gateway 0 keeps every default (and logs requests); gateway 1 has short timeouts and a small
# connection cap.
ACCESS_LOG = {"CHIMERA_ACCESS_LOG": "true"}
TIGHT = {
    "CHIMERA_HEADER_TIMEOUT_S": "1",
    "CHIMERA_KEEP_ALIVE_TIMEOUT_S": "1",
    "CHIMERA_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
    "CHIMERA_HELLO_TIMEOUT_S": "120",  # sockets that hold a connection slot wait for us
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with running_stack("sqlite", tmp_path_factory.mktemp("http"), ACCESS_LOG) as stack:
        stack.env_extra = dict(TIGHT)
        await stack.add_gateway()
        yield stack


def port(stack: Stack, index: int = 0) -> int:
    return stack.gateway_ports[index]


def status(reply: bytes) -> int:
    assert reply.startswith(b"HTTP/1.1 "), reply[:200]
    return int(reply.split(b" ", 2)[1])


def request(path: str = "/healthz", headers: list[tuple[str, str]] | None = None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers or []]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def test_a_header_over_the_cap_is_refused_431_and_the_connection_closes(
    stack: Stack,
) -> None:
    huge = [("X-Filler", "a" * (1024 * 1024))]
    reply = await exchange(port(stack), request(headers=huge))
    assert status(reply) == 431
    assert b'"code":"headers_too_large"' in reply.replace(b" ", b"")
    # Many headers that together pass the cap, each of them small.
    many_bytes = [(f"X-Part-{i}", "b" * 1000) for i in range(60)]
    assert status(await exchange(port(stack), request(headers=many_bytes))) == 431
    # A URL over the cap is part of the head too.
    assert status(await exchange(port(stack), request("/" + "c" * 100_000))) == 431
    # Headers within the defaults are served as before.
    fine = [(f"X-Ok-{i}", "d" * 100) for i in range(50)]
    assert status(await exchange(port(stack), request(headers=fine))) == 200


async def test_too_many_headers_are_refused_431(stack: Stack) -> None:
    many = [(f"X-H-{i}", "1") for i in range(150)]
    reply = await exchange(port(stack), request(headers=many))
    assert status(reply) == 431
    assert status(await exchange(port(stack), request())) == 200  # the gateway stands


async def test_a_connection_that_never_finishes_its_headers_is_closed(stack: Stack) -> None:
    partial = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
    reply = await exchange(port(stack, 1), partial)  # returns once the gateway closes it
    assert reply == b"" or status(reply) == 408
    # A connection that sends nothing at all is closed as well.
    assert await exchange(port(stack, 1), b"") == b""


async def test_an_idle_keep_alive_connection_is_closed(stack: Stack) -> None:
    keep_alive = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    reply = await exchange(port(stack, 1), keep_alive)  # one answer, then the idle close
    assert status(reply) == 200 and reply.count(b"HTTP/1.1 ") == 1


async def test_connections_over_the_cap_get_503_until_one_closes(stack: Stack) -> None:
    url = f"ws://127.0.0.1:{port(stack, 1)}/ws/room/any"
    held = [await websockets.connect(url) for _ in range(MAX_CONNECTIONS)]
    try:
        assert status(await exchange(port(stack, 1), request())) == 503
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(url)
        assert refused.value.response.status_code == 503
    finally:
        await held.pop().close()
    try:

        async def served() -> bool:
            return status(await exchange(port(stack, 1), request())) == 200

        await poll_until(served)
    finally:
        for socket in held:
            await socket.close()


UNMAPPABLE = [
    "/%00",
    "/assets/%00.js",
    "/a%00b/c",
    "/" + "x" * 5000,
    "/" + "/".join(["y" * 200] * 30),
    "/assets%2Fapp.js",
    "/..%2F..%2Fetc%2Fpasswd",
    "/assets/..%2F..%2Fpyproject.toml",
    "/%2e%2e/%2e%2e/pyproject.toml",
    "/%ff%fe",
    "/rooms/%c3%28",
    "/a%0ab",
    "/a%5c..%5cb",
]


async def test_web_paths_that_map_to_no_file_are_a_quiet_404(stack: Stack) -> None:
    log = stack.workdir / "gateway0.log"
    lines_before = len(log.read_text(errors="replace").splitlines())
    async with httpx.AsyncClient(base_url=stack.base_url(0)) as http:
        for path in UNMAPPABLE:
            reply = await http.get(path)
            assert reply.status_code == 404, (path, reply.status_code)
            assert reply.json()["error"]["code"] == "not_found"
        assert (await http.get("/rooms/some-room")).status_code == 200  # client routes stay
        assert (await http.get("/")).status_code == 200
    text = log.read_text(errors="replace")
    assert "Traceback" not in text
    # One access-log line per request and nothing else.
    assert len(text.splitlines()) - lines_before <= len(UNMAPPABLE) + 2


async def test_secrets_in_query_strings_never_reach_the_access_log(stack: Stack) -> None:
    secret = "s3cr3t-query-value-4711"
    async with httpx.AsyncClient(base_url=stack.base_url(0)) as http:
        await http.get(f"/api/rooms?token={secret}&limit=5")
        await http.get(f"/healthz?access_token={secret}")
        await http.get(f"/?api_key={secret}&x=1")
    log = stack.workdir / "gateway0.log"

    async def logged() -> bool:
        return "/?api_key=<redacted>&x=1" in log.read_text(errors="replace")

    await poll_until(logged)
    text = log.read_text(errors="replace")
    assert secret not in text
    assert "token=<redacted>&limit=5" in text
