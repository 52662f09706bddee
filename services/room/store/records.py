"""Plain, immutable results of the room repository; ORM objects never leave it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RoomRecord:
    """A room as stored."""

    id: str
    name: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    last_seq: int


@dataclass(frozen=True, slots=True)
class AuthorRecord:
    """Who wrote a message; `kind` is "human", "ai" or "system"."""

    id: str
    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """A message as stored; `seq` numbers the messages of a room 1, 2, 3, …"""

    id: str
    room_id: str
    seq: int
    author: AuthorRecord
    content: str
    reply_to: str | None
    status: str
    client_msg_id: str | None
    created_at: datetime
