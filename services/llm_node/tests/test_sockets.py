"""httpx2 over the asyncio sockets: bodies in pieces, reuse, TLS, timeouts and broken peers."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx2
import pytest

from services.common.net import free_port
from services.llm_node.backends import sockets

pytestmark = pytest.mark.unit

LIMITS = httpx2.Limits(max_connections=10, max_keepalive_connections=10)
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def server(handler: Handler, tls: ssl.SSLContext | None = None) -> AsyncIterator[str]:
    """A raw HTTP server on localhost running `handler` per connection; yields its root URL."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
        finally:
            writer.close()

    srv = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=tls)
    port = srv.sockets[0].getsockname()[1]
    try:
        yield f"{'https' if tls else 'http'}://localhost:{port}"
    finally:
        srv.close()
        await srv.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> bool:
    """Read one request's head (these requests have no body); False at the connection's end."""
    try:
        return bool(await reader.readuntil(b"\r\n\r\n"))
    except asyncio.IncompleteReadError:
        return False


def chunked(*pieces: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


@asynccontextmanager
async def client(context: ssl.SSLContext | None = None) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(
        transport=sockets.transport(LIMITS, context), timeout=httpx2.Timeout(5.0)
    ) as http:
        yield http


async def test_a_body_sent_in_pieces_arrives_whole_and_the_connection_is_reused() -> None:
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        while await read_request(reader):
            body = chunked(b"data: one\n\n", b"data: two\n\n")
            writer.write(HEAD)
            for i in range(0, len(body), 7):  # many small segments, some mid-chunk-header
                writer.write(body[i : i + 7])
                await writer.drain()
                await asyncio.sleep(0.001)

    async with server(handler) as url, client() as http:
        for _ in range(3):
            async with http.stream("GET", url) as response:
                received = b"".join([piece async for piece in response.aiter_raw()])
            assert received == b"data: one\n\ndata: two\n\n"

    assert connections == 1


async def test_a_peer_that_stops_answering_is_a_read_timeout() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(HEAD + b"5\r\nhello\r\n")
        await asyncio.sleep(10)

    async with server(handler) as url, client() as http:
        async with http.stream("GET", url, timeout=httpx2.Timeout(5.0, read=0.2)) as response:
            with pytest.raises(httpx2.ReadTimeout):
                async for _ in response.aiter_raw():
                    pass


async def test_a_peer_that_hangs_up_mid_body_is_a_request_error() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(HEAD + b"5\r\nhello\r\n")
        await writer.drain()

    async with server(handler) as url, client() as http:
        async with http.stream("GET", url) as response:
            with pytest.raises(httpx2.RemoteProtocolError):
                async for _ in response.aiter_raw():
                    pass


async def test_a_refused_connection_is_a_connect_error() -> None:
    async with client() as http:
        with pytest.raises(httpx2.ConnectError):
            await http.get(f"http://127.0.0.1:{free_port('127.0.0.1')}/")


@pytest.fixture
def certificate(tmp_path: Path) -> Path:
    """A self-signed certificate for localhost (its key beside it, key.pem)."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", "key.pem", "-out", "cert.pem", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost"],
        cwd=tmp_path, check=True, capture_output=True,
    )  # fmt: skip
    return tmp_path / "cert.pem"


async def test_https_verifies_the_server_and_carries_the_body(certificate: Path) -> None:
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(certificate, certificate.with_name("key.pem"))

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await read_request(reader):
            writer.write(HEAD + chunked(b"secure"))

    async with server(handler, tls) as url:
        trusted = ssl.create_default_context(cafile=str(certificate))
        async with client(trusted) as http:
            assert (await http.get(url)).content == b"secure"
            assert (await http.get(url)).content == b"secure"
        async with client(ssl.create_default_context()) as http:
            with pytest.raises(httpx2.ConnectError):
                await http.get(url)
