"""uvicorn's sans-I/O WebSocket protocol, with a clean close when it refuses a frame.

Stock uvicorn answers an oversized frame (or invalid UTF-8) with its close frame and then
closes the socket at once. The client is usually still sending that frame; the kernel turns
the unread bytes into a TCP reset, which can destroy the close frame before the client reads
it, so the client sees 1006 instead of 1009/1007. Here the server sends its close frame,
half-closes, and keeps reading (and discarding) until the client closes its side or the close
timeout passes — the closing handshake RFC 6455 asks for.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class GatewayWebSocketProtocol(WebSocketsSansIOProtocol):
    """Refused frames end with close frame + half-close + drain, never a reset."""

    _failing = False

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
