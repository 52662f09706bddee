"""System messages: what the room itself says (autopilot stops, summaries), stored and broadcast."""

from __future__ import annotations

import asyncio

from services.common.pb import room_pb2 as pb
from services.room.convert import message_pb, room_pb
from services.room.hub import RoomHub
from services.room.store.records import AuthorRecord
from services.room.store.repository import RoomRepository

AUTOPILOT = AuthorRecord(id="system:autopilot", name="Autopilot", kind="system")
SUMMARY = AuthorRecord(id="system:summary", name="Summary", kind="system")


async def post_system_message(
    repo: RoomRepository,
    hub: RoomHub,
    room_id: str,
    author: AuthorRecord,
    content: str,
    *,
    reply_to: str | None = None,
) -> pb.Message:
    """Store a system message under the room's next seq and send it to every stream."""

    async def commit() -> pb.Message:
        async with hub.lock(room_id):
            record, _ = await repo.post_message(
                room_id, author, content, client_msg_id=None, reply_to=reply_to
            )
            message = message_pb(record)
            hub.broadcast(room_id, pb.SessionEvent(message=message))
        return message

    # Shielded, as in Rooms.post: a cancelled caller must not leave it committed but unsent.
    return await asyncio.shield(commit())


async def broadcast_room(repo: RoomRepository, hub: RoomHub, room_id: str) -> pb.Room:
    """Tell every stream of the room its current state (after a change made elsewhere)."""
    async with hub.lock(room_id):
        room = room_pb(await repo.get_room(room_id))
        hub.broadcast(room_id, pb.SessionEvent(room_updated=pb.RoomUpdated(room=room)))
    return room
