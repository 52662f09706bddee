"""System messages: what the room itself says (autopilot stops, summaries), stored and broadcast."""

from __future__ import annotations

import asyncio

from services.common.pb import room_pb2 as pb
from services.room.store.records import AuthorRecord
from services.room.timeline import Timeline

AUTOPILOT = AuthorRecord(id="system:autopilot", name="Autopilot", kind="system")
SUMMARY = AuthorRecord(id="system:summary", name="Summary", kind="system")


async def post_system_message(
    timeline: Timeline,
    room_id: str,
    author: AuthorRecord,
    content: str,
    *,
    reply_to: str | None = None,
) -> pb.Message:
    """Store a system message under the room's next seq and send it to every stream."""
    # Shielded, as in Rooms.post: a cancelled caller must not leave it committed but unsent.
    message, _ = await asyncio.shield(timeline.append(room_id, author, content, reply_to=reply_to))
    return message
