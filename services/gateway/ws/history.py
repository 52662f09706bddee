"""A room link's reads of its room's history: backfill after a reconnect or a gap, and the
replay a resuming socket gets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

import grpc

from services.common.pb import room_pb2 as pb
from services.common.pb.room_pb2_grpc import RoomServiceStub

HISTORY_PAGE = 200
# How LoadHistory refuses an actor who may not read the room (a deleted room reads the same).
MAY_NOT_READ = frozenset({grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED})


async def read_as_any(
    readers: Iterable[pb.User], read: Callable[[pb.User], Awaitable[list[pb.Message]]]
) -> list[pb.Message]:
    """`read` as the first of `readers` the room service lets read; nothing when none may.

    A link reads for itself (backfill, replies that ended) as one of its local users; one who
    lost access while the stream was down is refused, and so will their re-join be.
    """
    for actor in readers:
        try:
            return await read(actor)
        except grpc.aio.AioRpcError as exc:
            if exc.code() not in MAY_NOT_READ:
                raise
    return []


class RoomHistory:
    """LoadHistory for one room, read as a member (the room service checks every read)."""

    def __init__(self, room_id: str, stub: RoomServiceStub, *, call_timeout_s: float) -> None:
        self.room_id = room_id
        self.stub = stub
        self.call_timeout_s = call_timeout_s

    async def after(self, after: int, upto: int, actor: pb.User | None) -> list[pb.Message]:
        """Messages with after < seq <= upto, oldest first, page by page; none without actor."""
        messages: list[pb.Message] = []
        while after < upto and actor is not None:
            page = await self.stub.LoadHistory(
                pb.LoadHistoryRequest(
                    room_id=self.room_id, after_seq=after, limit=HISTORY_PAGE, actor=actor
                ),
                timeout=self.call_timeout_s,
            )
            batch = [m for m in page.messages if m.seq <= upto]
            messages.extend(batch)
            if not batch or not page.has_more or batch[-1].seq >= upto:
                break
            after = batch[-1].seq
        return messages

    async def replies_up_to(self, seq: int, actor: pb.User) -> list[pb.Message]:
        """The AI replies among the newest page of messages up to `seq`, in their current state."""
        page = await self.stub.LoadHistory(
            pb.LoadHistoryRequest(
                room_id=self.room_id, before_seq=seq + 1, limit=HISTORY_PAGE, actor=actor
            ),
            timeout=self.call_timeout_s,
        )
        return [m for m in page.messages if m.author.kind == pb.AUTHOR_KIND_AI]

    async def current(self, message: pb.Message, actor: pb.User) -> list[pb.Message]:
        """The first message from `message`'s seq on, as stored now (it, once it has ended)."""
        page = await self.stub.LoadHistory(
            pb.LoadHistoryRequest(
                room_id=self.room_id, after_seq=message.seq - 1, limit=1, actor=actor
            ),
            timeout=self.call_timeout_s,
        )
        return list(page.messages)
