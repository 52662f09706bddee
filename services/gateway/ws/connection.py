"""One member's WebSocket: a bounded outbound queue drained by a single writer.

A frame pushed while the writer is idle (queue empty, socket writable) is written at once,
without the queue and the wake-up of the writer task: the common case of fan-out. While the
socket's join is being confirmed again on a new room stream, what is pushed is held back
instead (`hold`): it goes out on `release`, or is dropped if the socket is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.websockets import WebSocket

from services.common.ids import new_id
from services.common.pb import room_pb2 as pb
from services.gateway.auth import Identity
from services.gateway.limits import FrameLimiter
from services.gateway.ws.frames import SpeechFormat
from services.gateway.ws.protocol import CLOSE_TRY_AGAIN
from services.gateway.ws.transport import CLOSE_NOW, SEND_TEXT_NOW

logger = logging.getLogger(__name__)

# How long a socket closed for falling behind may take to read its backlog and the close frame
# (then it is cut, and sees 1006). uvicorn's own closing-handshake timeout is the same.
CLOSE_TIMEOUT_S = 10.0


class Connection:
    """A socket in a room. `push` never blocks: a socket too far behind is closed 1013."""

    def __init__(
        self,
        websocket: WebSocket,
        user: Identity,
        room_id: str,
        max_queue: int,
        *,
        token: str = "",
        limiter: FrameLimiter | None = None,
        audio: SpeechFormat | None = None,
    ) -> None:
        self.id = new_id()
        self.websocket = websocket
        self.user = user
        self.pb_user = pb.User(id=user.id, name=user.name)
        self.room_id = room_id
        self.max_queue = max_queue
        self.token = token  # kept to re-check the credential after a revocation stream gap
        self.limiter = limiter
        self.role: int = pb.ROOM_ROLE_MEMBER  # the caller's role in the room; set on join
        self.audio = audio  # the format of the `speech` frames it gets; None: none
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        # Set while the writer waits on an empty queue: only then may a frame skip the queue.
        self._idle = False
        self._held: list[str] | None = None  # frames kept back while the join is unconfirmed
        extensions = websocket.scope.get("extensions") or {}
        self._send_now = extensions.get(SEND_TEXT_NOW)
        self._close_now = extensions.get(CLOSE_NOW)
        self._closer: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()
        self.close_code: int | None = None

    def push(self, frame: str, data: bytes | None = None) -> None:
        """Queue a frame for this socket only (`data`: the frame in UTF-8, when a caller
        writing it to many sockets encoded it once)."""
        if self.close_code is not None:
            return
        if self._held is not None:
            if not self._fell_behind(len(self._held)):
                self._held.append(frame)
            return
        # The queue is empty too: a frame put but not yet taken by the woken writer goes first.
        if self._idle and self._send_now is not None and self._queue.empty():
            if self._send_now(frame.encode() if data is None else data):
                return
        if not self._fell_behind(0):
            self._queue.put_nowait(frame)

    def _fell_behind(self, held: int) -> bool:
        """Whether the socket has too much waiting to take one more frame (then it is closed)."""
        if self._queue.qsize() + held < self.max_queue:
            return False
        logger.info(
            "socket fell behind; closing", extra={"conn_id": self.id, "room_id": self.room_id}
        )
        self.close(CLOSE_TRY_AGAIN, "fell behind; reconnect and resume")
        return True

    def hold(self) -> None:
        """Keep back what is pushed from now on, until `release` (its join is being checked)."""
        if self._held is None and self.close_code is None:
            self._held = []

    @property
    def held(self) -> bool:
        """Whether frames are being kept back: the socket's join is unconfirmed."""
        return self._held is not None

    def release(self) -> None:
        """Its join was confirmed: what was kept back goes out, in order, before anything newer."""
        held, self._held = self._held, None
        for frame in held or ():
            self.push(frame)

    def start(self, prelude: list[str]) -> None:
        """Start writing: `prelude` (welcome, replay) first, then whatever was pushed."""
        if self.close_code is not None:
            return  # closed while joining (revoked, removed): nothing more goes out
        self._writer = asyncio.create_task(self._write(prelude), name=f"ws-writer-{self.id}")

    async def _write(self, prelude: list[str]) -> None:
        try:
            for frame in prelude:
                await self.websocket.send_text(frame)
            while True:
                self._idle = True
                frame = await self._queue.get()
                self._idle = False
                await self.websocket.send_text(frame)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The peer went away; the reader sees the disconnect and cleans up.
            self.closed.set()
        finally:
            self._idle = False

    @property
    def viewer(self) -> bool:
        """Whether this socket may only read."""
        return self.role == pb.ROOM_ROLE_VIEWER

    def close(self, code: int, reason: str) -> None:
        """Close the socket now, dropping whatever is still queued or held back."""
        if self.close_code is not None:
            return
        self.close_code = code
        self._held = None
        if self._writer is not None:
            self._writer.cancel()
        self._closer = asyncio.get_running_loop().create_task(self._close(code, reason))

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            if self._writer is not None:
                await asyncio.gather(self._writer, return_exceptions=True)
            # The close frame goes behind the backlog at once, even to a socket that pushes
            # back (one that fell behind): it sees 1013, not a cut connection.
            if self._close_now is not None and self._close_now(code, reason):
                self.closed.set()
                return
            # A peer that reads nothing never takes the close frame; give up after a moment.
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await self.websocket.close(code, reason)
        self.closed.set()

    async def stop(self) -> None:
        """Stop the writer (the socket is already gone)."""
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
