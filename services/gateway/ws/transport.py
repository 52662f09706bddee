"""uvicorn's sans-I/O WebSocket protocol, with a clean close when it refuses a frame and a
synchronous send for fan-out.

Stock uvicorn answers an oversized frame (or invalid UTF-8) with its close frame and then
closes the socket at once. The client is usually still sending that frame; the kernel turns
the unread bytes into a TCP reset, which can destroy the close frame before the client reads
it, so the client sees 1006 instead of 1009/1007. Here the server sends its close frame,
half-closes, and keeps reading (and discarding) until the client closes its side or the close
timeout passes — the closing handshake RFC 6455 asks for.

Fan-out writes one frame to many sockets. Through ASGI each write is an awaited `send` (and,
behind a per-socket queue, a task wake-up); `send_text_now`, offered to the app in the scope's
extensions as `chimera.send_text_now`, writes the frame at once when the socket is open and its
transport is not pushing back, and otherwise says no, so the caller queues it instead.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState

SEND_TEXT_NOW = "chimera.send_text_now"
CLOSE_NOW = "chimera.close_now"


class GatewayWebSocketProtocol(WebSocketsSansIOProtocol):
    """Refused frames end with close frame + half-close + drain, never a reset."""

    _failing = False

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # none when the handshake was refused
        if scope is not None:
            scope["extensions"][SEND_TEXT_NOW] = self.send_text_now
            scope["extensions"][CLOSE_NOW] = self.close_now

    def send_text_now(self, data: bytes) -> bool:
        """Write a text frame now; False (nothing written) unless the socket is open and
        writable, so a slow reader's frames wait in its own queue instead."""
        if (
            not self.handshake_complete
            or self.close_sent
            or self.disconnected
            or self.initial_response is not None
            or not self.writable.is_set()
            or self.transport.is_closing()
        ):
            return False
        try:
            self.conn.send_text(data)
        except InvalidState:
            return False
        self.transport.write(b"".join(self.conn.data_to_send()))
        return True

    def close_now(self, code: int, reason: str) -> bool:
        """Queue the close frame behind what is buffered, even while the transport pushes back.

        ASGI's `websocket.close` first waits until the socket is writable: for a reader that
        fell behind that is never, and it would be cut without a close frame (1006). False when
        the socket is not open (nothing sent).
        """
        if not self.handshake_complete or self.close_sent or self.disconnected:
            return False
        if self.transport.is_closing():
            return False
        try:
            self.conn.send_close(code, reason)
        except InvalidState:
            return False
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        # The peer has close_timeout to read its backlog and answer; then the socket is closed.
        self.close_timer = self.loop.call_later(self.close_timeout, self.transport.close)
        return True

    def data_received(self, data: bytes) -> None:
        if self._failing:
            self.conn.receive_data(data)  # discarded by the failed parser
            return
        super().data_received(data)

    def handle_parser_exception(self) -> None:
        assert self.conn.close_sent is not None
        self.stop_keepalive()
        close = self.conn.close_sent
        self.queue.put_nowait(
            {"type": "websocket.disconnect", "code": close.code, "reason": close.reason}
        )
        for chunk in self.conn.data_to_send():
            if chunk:
                self.transport.write(chunk)
            else:
                # b"" means: half-close now. The parser failed (a frame too big) and now
                # discards everything until the peer closes its side.
                self._failing = True
                if self.transport.can_write_eof():
                    self.transport.write_eof()
        # Otherwise (invalid UTF-8: a regular close) the peer's close reply ends it as usual.
        self.close_sent = True
        loop = asyncio.get_running_loop()
        self.close_timer = loop.call_later(self.close_timeout, self.transport.close)
