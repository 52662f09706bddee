"""A room link's sockets whose join the room service has not confirmed yet.

A socket is welcomed only once the room service has checked and committed its join; until
then it waits here, and learns its role or why it was refused.
"""

from __future__ import annotations

import asyncio

from services.gateway.ws.connection import Connection


class JoinRefused(Exception):
    """The room service did not let a socket join: `code` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class PendingJoins:
    """One future per socket whose join is unconfirmed, resolved with its role."""

    def __init__(self) -> None:
        self._futures: dict[str, asyncio.Future[int]] = {}

    def expect(self, conn_id: str) -> None:
        """A socket's join went out (or will, with the next stream)."""
        self._futures[conn_id] = asyncio.get_running_loop().create_future()

    async def role(self, conn: Connection) -> int:
        """The socket's role once its join is confirmed (at once if it already was)."""
        future = self._futures.get(conn.id)
        return conn.role if future is None else await future

    def confirmed(self, conn_id: str, role: int) -> None:
        """The room service committed the join."""
        future = self._futures.pop(conn_id, None)
        if future is not None and not future.done():
            future.set_result(role)

    def refused(self, conn_id: str, code: str, message: str) -> bool:
        """The room service answered the socket with an error; whether it was its join."""
        future = self._futures.pop(conn_id, None)
        if future is None:
            return False
        if not future.done():
            future.set_exception(JoinRefused(code, message))
        return True

    def drop(self, conn_id: str) -> None:
        """The socket left before its join was confirmed."""
        future = self._futures.pop(conn_id, None)
        if future is not None:
            future.cancel()
