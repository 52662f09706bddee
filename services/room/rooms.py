"""Room operations: validation, ordered commits and the broadcast that follows them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from services.common.errors import InvalidArgument
from services.common.pb import room_pb2 as pb
from services.common.validation import clean_name
from services.room.convert import message_pb, room_pb
from services.room.hub import RoomHub
from services.room.personas import validate_personas
from services.room.store.records import AuthorRecord
from services.room.store.repository import RoomRepository

logger = logging.getLogger(__name__)

MAX_ROOM_NAME = 200
MAX_CLIENT_MSG_ID = 128
DEFAULT_PAGE = 50
MAX_PAGE = 200
MAX_ROOMS = 500


class Rooms:
    """What the servicer exposes, independent of gRPC."""

    def __init__(
        self,
        repo: RoomRepository,
        hub: RoomHub,
        *,
        max_message_chars: int,
        on_human_message: Callable[[pb.Message], None] | None = None,
    ) -> None:
        self.repo = repo
        self.hub = hub
        self.max_message_chars = max_message_chars
        self.on_human_message = on_human_message

    async def create(
        self, actor: pb.User, name: str, personas: Sequence[pb.Persona] = ()
    ) -> pb.Room:
        """Create a room owned by `actor`, with its personas."""
        room = await self.repo.create_room(
            clean_name(name, "Room name", MAX_ROOM_NAME), actor.id, validate_personas(personas)
        )
        logger.info("room created", extra={"room_id": room.id})
        return room_pb(room)

    async def get(self, room_id: str) -> pb.Room:
        """One room; NotFound when it does not exist."""
        return room_pb(await self.repo.get_room(room_id))

    async def list_rooms(self, limit: int) -> list[pb.Room]:
        """Rooms, newest first."""
        limit = MAX_ROOMS if limit <= 0 else min(limit, MAX_ROOMS)
        return [room_pb(room) for room in await self.repo.list_rooms(limit)]

    async def update(
        self, room_id: str, name: str | None, personas: Sequence[pb.Persona] | None = None
    ) -> pb.Room:
        """Change a room's fields (personas: replace them all) and tell its members."""
        if name is not None:
            name = clean_name(name, "Room name", MAX_ROOM_NAME)
        records = validate_personas(personas) if personas is not None else None
        async with self.hub.lock(room_id):
            room = room_pb(await self.repo.update_room(room_id, name=name, personas=records))
            self.hub.broadcast(room_id, pb.SessionEvent(room_updated=pb.RoomUpdated(room=room)))
        return room

    async def history(
        self, room_id: str, before: int | None, after: int | None, limit: int
    ) -> tuple[list[pb.Message], bool]:
        """A keyset page of messages, oldest first, and whether more lie beyond it."""
        limit = limit or DEFAULT_PAGE
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidArgument(f"limit must be between 1 and {MAX_PAGE}.")
        if before is not None and after is not None:
            raise InvalidArgument("Give at most one of before and after.")
        if (before is not None and before < 1) or (after is not None and after < 0):
            raise InvalidArgument("before must be >= 1 and after >= 0.")
        rows, has_more = await self.repo.load_history(
            room_id, before=before, after=after, limit=limit
        )
        return [message_pb(row) for row in rows], has_more

    async def post(
        self, room_id: str, author: pb.User, content: str, client_msg_id: str, reply_to: str
    ) -> tuple[pb.Message, bool]:
        """Store a human message, then send it to every stream; duplicates are returned, not stored."""
        if not content.strip():
            raise InvalidArgument("Message content must not be empty.")
        if len(content) > self.max_message_chars:
            raise InvalidArgument(
                f"Message content must be at most {self.max_message_chars} characters."
            )
        if len(client_msg_id) > MAX_CLIENT_MSG_ID:
            raise InvalidArgument(f"client_msg_id must be at most {MAX_CLIENT_MSG_ID} characters.")
        record_author = AuthorRecord(id=author.id, name=author.name, kind="human")
        # Shielded: a cancelled caller (a stream that went away) must not leave a
        # message committed but never broadcast.
        message, duplicate = await asyncio.shield(
            self._commit(room_id, record_author, content, client_msg_id, reply_to)
        )
        if not duplicate:
            self.hub.set_typing(room_id, author, False)
            if self.on_human_message is not None:
                self.on_human_message(message)
        return message, duplicate

    async def _commit(
        self, room_id: str, author: AuthorRecord, content: str, client_msg_id: str, reply_to: str
    ) -> tuple[pb.Message, bool]:
        async with self.hub.lock(room_id):
            row, duplicate = await self.repo.post_message(
                room_id,
                author,
                content,
                client_msg_id=client_msg_id or None,
                reply_to=reply_to or None,
            )
            message = message_pb(row)
            if not duplicate:
                # Committed above, so nobody is ever told of a message that could be lost.
                self.hub.broadcast(room_id, pb.SessionEvent(message=message))
        return message, duplicate
