"""Run a fake provider's Starlette routes with uvicorn, in the caller's event loop."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from starlette.requests import Request
from starlette.routing import Router
from starlette.types import Receive, Scope, Send

from tests.support.providers._script import DropConnection, FakeProvider

START_TIMEOUT_S = 10.0

RawApp = Callable[[Scope, Receive, Send], Awaitable[Any]]


def sse(data: Any, event: str | None = None) -> bytes:
    """One server-sent event; `data` is sent as JSON unless it is already a string."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object, or {} when it has none."""
    raw = await request.body()
    body = json.loads(raw) if raw else {}
    return body if isinstance(body, dict) else {}


def with_hang_ups(router: Router) -> RawApp:
    """Wrap routes so that raising DropConnection closes the TCP connection without a reply."""

    async def app(scope: Scope, receive: Receive, send: Send) -> object:
        try:
            await router(scope, receive, send)
        except DropConnection:
            # uvicorn closes the transport, with no response, when an app returns a value:
            # the only way an ASGI app can hang up before sending a byte.
            return "hang up"
        return None

    return app


def tcp_socket(host: str = "127.0.0.1") -> socket.socket:
    """A TCP socket for a server on `host`, not bound yet."""
    # An explicit IPPROTO_TCP: with protocol 0, asyncio never sets TCP_NODELAY on accepted
    # connections, and a request right after an answer waits ~40 ms for a delayed ACK.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return sock


def reserved_port(host: str = "127.0.0.1") -> socket.socket:
    """A socket bound to a free port and not listening: connections to it are refused, and no
    other process can take the port until `serve(sock=...)` serves it (or it is closed)."""
    sock = tcp_socket(host)
    sock.bind((host, 0))
    return sock


@asynccontextmanager
async def serve(
    app: RawApp,
    provider: FakeProvider,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    sock: socket.socket | None = None,
) -> AsyncIterator[str]:
    """Serve `app` on host:port (0: a free port) until the block ends; yield its root URL.

    `sock`: a socket already bound (see `reserved_port`), served as it is: no other process
    can have taken its port in between.
    """
    if sock is None:
        sock = tcp_socket(host)
        sock.bind((host, port))
    host = sock.getsockname()[0]
    sock.listen(128)
    config = uvicorn.Config(
        app,
        lifespan="off",
        http="h11",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    task.add_done_callback(lambda _: provider.server_stopped.set())
    try:
        async with asyncio.timeout(START_TIMEOUT_S):
            while not server.started:
                if task.done():
                    task.result()  # raises why it stopped
                    raise RuntimeError("the fake provider stopped while starting")
                await asyncio.sleep(0.005)
        yield f"http://{host}:{sock.getsockname()[1]}"
    finally:
        provider.stop()
        server.should_exit = True
        await task
        sock.close()
