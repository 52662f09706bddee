"""uvicorn's httptools protocol with limits on the request head, a head timeout, and the
connection cap applied to WebSocket upgrades too.

Stock uvicorn with httptools accepts a request head of any size and any number of headers (the
parser buffers each header until it ends), and a connection that never finishes its head stays
open forever: no timer runs until the first response is sent. Both cost memory before any
authentication. Here:

- the head (request line and headers) is capped in bytes and in header count: over either, the
  answer is 431 and the connection ends;
- a head must arrive within a timeout from the connection's start (or from the first byte of the
  next request on a kept-alive connection); otherwise the connection is closed (408 if part of
  a request had arrived);
- past the connection cap (uvicorn's `limit_concurrency`: open connections, WebSockets
  included, or running requests) a request gets 503 in the error shape; stock uvicorn answers
  plain text and lets WebSocket upgrades through.

A refused connection is half-closed after its answer and whatever else the client sends is read
and dropped (not buffered) until it closes its side or `DRAIN_S` passes: closing at once with
unread bytes makes the kernel reset the connection, which can destroy the answer before the
client reads it.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

DRAIN_S = 5.0
TOO_LARGE_MESSAGE = "Request header fields too large."
TIMEOUT_MESSAGE = "Request headers not received in time."
UNAVAILABLE_MESSAGE = "Too many connections; try again shortly."


@dataclass(frozen=True)
class HeadLimits:
    """What a request head may be, and how long it may take; 0 switches a limit off."""

    max_bytes: int = 32 * 1024
    max_count: int = 100
    timeout_s: float = 10.0


class _Refused(Exception):
    """Raised inside a parser callback to stop parsing; the answer was already sent."""


class GatewayHttpProtocol(HttpToolsProtocol):
    """HTTP/1.1 with a capped, timed request head; see the module docstring."""

    limits: ClassVar[HeadLimits] = HeadLimits()

    @classmethod
    def with_limits(cls, limits: HeadLimits) -> type[GatewayHttpProtocol]:
        """This protocol with `limits` (uvicorn builds one instance per connection)."""
        return cast(type[GatewayHttpProtocol], type(cls.__name__, (cls,), {"limits": limits}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # between requests or inside a head: bytes count against the cap
        self._head_bytes = 0
        self._head_started = False
        self._head_timer: asyncio.TimerHandle | None = None
        self._refused = False

    # --- connection ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # read and dropped until the client closes or the drain timer fires
        self._unset_keepalive_if_required()
        if self._in_head:
            self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as error:
            if isinstance(error.__context__, _Refused):
                return
            self._invalid()
            return
        except httptools.HttpParserError:
            self._invalid()
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        if self._in_head and self.limits.max_bytes and self._head_bytes > self.limits.max_bytes:
            self._refuse(431, TOO_LARGE_MESSAGE, "headers_too_large")

    def handle_websocket_upgrade(self) -> None:
        self._cancel_head_timer()
        super().handle_websocket_upgrade()

    # --- parser callbacks ------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_started = True
        self._arm_head_timer()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._cancel_head_timer()
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if (self.limits.max_bytes and size > self.limits.max_bytes) or (
            self.limits.max_count and len(self.headers) > self.limits.max_count
        ):
            self._refuse(431, TOO_LARGE_MESSAGE, "headers_too_large")
            raise _Refused()
        if self._over_capacity():
            self.logger.warning("Connection cap reached; request answered 503.")
            self._refuse(503, UNAVAILABLE_MESSAGE, "unavailable")
            raise _Refused()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True
        self._head_bytes = 0
        self._head_started = False

    # --- helpers ---------------------------------------------------------------------------

    def _over_capacity(self) -> bool:
        cap = self.limit_concurrency
        return cap is not None and (len(self.connections) >= cap or len(self.tasks) >= cap)

    def _arm_head_timer(self) -> None:
        if self._head_timer is None and self.limits.timeout_s > 0:
            self._head_timer = self.loop.call_later(self.limits.timeout_s, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or self._refused:
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined head behind a response still being written: wait for that response.
            self._arm_head_timer()
        elif self._head_started:
            self._refuse(408, TIMEOUT_MESSAGE, "request_timeout")
        else:
            self.transport.close()  # nothing asked at all

    def _invalid(self) -> None:
        message = "Invalid HTTP request received."
        self.logger.warning(message)
        self.send_400_response(message)

    def _refuse(self, status: int, message: str, code: str) -> None:
        """Answer `status` in the error shape, half-close, and drop whatever else arrives."""
        self._refused = True
        self._cancel_head_timer()
        self._unset_keepalive_if_required()
        body = json.dumps({"error": {"code": code, "message": message}}).encode()
        head = [STATUS_LINE[status]]
        head += [
            name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers
        ]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(DRAIN_S, self.transport.close)
        else:
            self.transport.close()
