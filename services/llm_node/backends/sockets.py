"""The hosted backends' sockets: httpx2's connection pool over plain asyncio transports.

httpcore2's default (anyio) stream does per read what a token stream cannot afford per token:
a cancel scope for the read timeout, a pause and resume of the transport, an Event, each of
which looks the running loop up (on Python 3.11 a getpid() syscall). This stream keeps reading,
buffers what arrives, returns it all on the next read without waiting when there is some, and
times a read that must wait with one timer on the loop it was made on.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterable
from typing import Any, cast

import httpcore2
import httpx2

READ_HIGH_WATER = 256 * 1024  # bytes buffered before the socket stops being read
SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


def transport(
    limits: httpx2.Limits, ssl_context: ssl.SSLContext | None = None
) -> httpx2.AsyncHTTPTransport:
    """httpx2's transport (HTTP/1.1; TLS verified as httpx2's default is) on these sockets."""
    http = httpx2.AsyncHTTPTransport(limits=limits)
    # httpx2 takes no network backend, so its pool is made again with one; all else as httpx2's.
    http._pool = httpcore2.AsyncConnectionPool(
        ssl_context=ssl_context or httpx2.create_ssl_context(),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=AsyncioBackend(),
    )
    return http


class AsyncioBackend(httpcore2.AsyncNetworkBackend):
    """TCP connections as asyncio transports (TLS by `start_tls`, as httpcore2 asks for it)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        """Connect (asyncio sets TCP_NODELAY), then apply `socket_options`."""
        loop = asyncio.get_running_loop()
        local = (local_address, 0) if local_address else None
        try:
            async with asyncio.timeout(timeout):
                sock_transport, protocol = await loop.create_connection(
                    lambda: _Protocol(loop), host, port, local_addr=local
                )
        except TimeoutError as exc:
            raise httpcore2.ConnectTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore2.ConnectError(str(exc)) from exc
        sock = sock_transport.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return _Stream(sock_transport, protocol)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        """Not used by the hosted backends."""
        raise httpcore2.ConnectError("unix sockets are not supported")

    async def sleep(self, seconds: float) -> None:
        """Sleep on the running loop."""
        await asyncio.sleep(seconds)


class _Protocol(asyncio.Protocol):
    """What arrives on one connection, and the one reader or writer waiting on it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.chunks: list[bytes] = []
        self.buffered = 0
        self.paused = False  # reading, past READ_HIGH_WATER
        self.eof = False
        self.lost: Exception | None = None
        self.closed = False
        self.reader: asyncio.Future[None] | None = None
        self.writer: asyncio.Future[None] | None = None  # set while writing is paused

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.buffered += len(data)
        if self.buffered > READ_HIGH_WATER and self.transport is not None and not self.paused:
            self.paused = True
            self.transport.pause_reading()
        self._wake_reader()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake_reader()
        return False  # close the transport: HTTP/1.1 never half-closes a client connection

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.lost = exc
        self.eof = True
        self._wake_reader()
        if self.writer is not None and not self.writer.done():
            self.writer.set_result(None)

    def pause_writing(self) -> None:
        self.writer = self.loop.create_future()

    def resume_writing(self) -> None:
        if self.writer is not None and not self.writer.done():
            self.writer.set_result(None)
        self.writer = None

    def _wake_reader(self) -> None:
        if self.reader is not None and not self.reader.done():
            self.reader.set_result(None)


class _Stream(httpcore2.AsyncNetworkStream):
    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        protocol = self._protocol
        if not protocol.chunks and not protocol.eof:
            waiter = protocol.reader = protocol.loop.create_future()
            timer = (
                None
                if timeout is None
                else protocol.loop.call_at(protocol.loop.time() + timeout, _time_out, waiter)
            )
            try:
                await waiter
            finally:
                protocol.reader = None
                if timer is not None:
                    timer.cancel()
        if not protocol.chunks:
            if protocol.lost is not None:
                raise httpcore2.ReadError(str(protocol.lost)) from protocol.lost
            return b""  # the end of the stream
        data = protocol.chunks[0] if len(protocol.chunks) == 1 else b"".join(protocol.chunks)
        if len(data) > max_bytes:
            data, rest = data[:max_bytes], data[max_bytes:]
            protocol.chunks = [rest]
            protocol.buffered = len(rest)
        else:
            protocol.chunks = []
            protocol.buffered = 0
        if protocol.paused and protocol.buffered <= READ_HIGH_WATER and not protocol.closed:
            protocol.paused = False
            self._transport.resume_reading()
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        if self._protocol.closed or self._transport.is_closing():
            raise httpcore2.WriteError("the connection is closed")
        self._transport.write(buffer)
        writer = self._protocol.writer
        if writer is not None:  # the kernel's buffer is full: wait until it drains
            try:
                async with asyncio.timeout(timeout):
                    await asyncio.shield(writer)
            except TimeoutError as exc:
                raise httpcore2.WriteTimeout(str(exc)) from exc
            if self._protocol.closed:
                raise httpcore2.WriteError("the connection was lost while writing")

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        loop = self._protocol.loop
        try:
            async with asyncio.timeout(timeout):
                tls = await loop.start_tls(
                    self._transport, self._protocol, ssl_context, server_hostname=server_hostname
                )
        except TimeoutError as exc:
            self._transport.close()
            raise httpcore2.ConnectTimeout(str(exc)) from exc
        except (OSError, ssl.SSLError) as exc:
            self._transport.close()
            raise httpcore2.ConnectError(str(exc)) from exc
        if tls is None:
            raise httpcore2.ConnectError("the connection closed during the TLS handshake")
        self._protocol.transport = tls
        return _Stream(self._protocol.transport, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        if info == "socket":
            sock: socket.socket | None = self._transport.get_extra_info("socket")
            return sock
        if info == "is_readable":  # an idle connection with data or an EOF is unusable
            return bool(self._protocol.chunks) or self._protocol.eof
        return None


def _time_out(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(httpcore2.ReadTimeout("timed out"))
