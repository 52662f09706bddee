"""What the RoomLink tests share: sockets that record their frames, and a link on the fakes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any, cast

import grpc
from starlette.websockets import WebSocket

from services.common.pb import room_pb2 as pb
from services.common.pb.room_pb2_grpc import RoomServiceStub
from services.gateway.auth import Identity
from services.gateway.ws.connection import Connection
from services.gateway.ws.link import RoomLink
from services.gateway.ws.transport import SEND_TEXT_NOW

WAIT_S = 10.0
MEMBER, VIEWER = pb.ROOM_ROLE_MEMBER, pb.ROOM_ROLE_VIEWER


class FakeSocket:
    """What a Connection writes to: the frames, and the close.

    direct: it also takes frames at once, as uvicorn's transport does for a socket that is
    writable (`send_text_now`), so what is pushed to it is shown before the push returns.
    """

    def __init__(self, *, direct: bool = False) -> None:
        extensions = {SEND_TEXT_NOW: self._send_now} if direct else {}
        self.scope: dict[str, Any] = {"extensions": extensions}
        self.frames: list[dict[str, Any]] = []
        self.changed = asyncio.Event()

    async def send_text(self, text: str) -> None:
        self.frames.append(json.loads(text))
        self.changed.set()

    def _send_now(self, data: bytes) -> bool:
        self.frames.append(json.loads(data))
        self.changed.set()
        return True

    async def close(self, code: int, reason: str) -> None:
        self.frames.append({"type": "closed", "code": code})
        self.changed.set()

    async def wait_until(self, done: Callable[[], bool]) -> None:
        """Wait (at most WAIT_S) until `done()` holds for the frames so far."""
        async with asyncio.timeout(WAIT_S):
            while not done():
                self.changed.clear()
                await self.changed.wait()

    async def wait_for(self, kind: str) -> dict[str, Any]:
        """The first frame of this kind, once there is one."""
        await self.wait_until(lambda: any(f["type"] == kind for f in self.frames))
        return next(f for f in self.frames if f["type"] == kind)

    async def shown(self, content: str) -> None:
        """Wait (at most WAIT_S) until the socket was shown a message with this content."""
        await self.wait_until(lambda: content in self.contents())

    def of(self, kind: str) -> list[dict[str, Any]]:
        """Every frame of this kind, in the order it came."""
        return [f for f in self.frames if f["type"] == kind]

    def contents(self) -> list[str]:
        """The messages the socket was shown, in order."""
        return [f["message"]["content"] for f in self.of("message")]


def socket_of(
    user_id: str, max_queue: int = 100, *, direct: bool = False
) -> tuple[Connection, FakeSocket]:
    sock = FakeSocket(direct=direct)
    identity = Identity(id=user_id, name=user_id, kind="user", credential_id=f"cred-{user_id}")
    conn = Connection(cast(WebSocket, sock), identity, "room", max_queue)
    conn.start([])
    return conn, sock


async def open_link(channel: grpc.aio.Channel, room_id: str) -> RoomLink:
    link = RoomLink(
        room_id,
        RoomServiceStub(channel),
        gateway_id="gw",
        call_timeout_s=5,
        on_closed=lambda _: None,
    )
    async with asyncio.timeout(WAIT_S):
        await link.ready.wait()
    return link


async def joined(
    link: RoomLink, *user_ids: str, direct: bool = False
) -> list[tuple[Connection, FakeSocket]]:
    """A socket of each user, added to the link, once the room service has confirmed it."""
    sockets = [socket_of(user_id, direct=direct) for user_id in user_ids]
    for conn, _ in sockets:
        link.add(conn)
        async with asyncio.timeout(WAIT_S):
            await link.joined(conn)
    return sockets
