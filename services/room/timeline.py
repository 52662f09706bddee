"""A room's timeline: the one place that takes a room's lock, commits and publishes.

Every member must see events in the order they were committed, and nobody may be told of a
write that could still be lost. Both hold if each write and its broadcast happen under the
room's lock, in that order — which this module alone does. The rest of the room service says
what to write (`append` a message, start or finish a reply, change the room) and the timeline
writes it and publishes it; a caller that must keep several steps together (check a role, then
cache it) takes a `hold` and does them through the `Held` it gets.

What is not stored (reply deltas, typing, autopilot status) is `publish`ed without the lock:
it has no commit to follow. The next issue's speech events and a cross-process bus plug in
here, behind `publish`: a reply's speech (speech/speaker.py) publishes each sentence's audio
once it is stored in the media store, and stores how the speech went with `save_speech`.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from services.common.pb import room_pb2 as pb
from services.room.convert import message_pb, room_pb
from services.room.events import RoomEvent
from services.room.hub import GatewayStream, RoomHub
from services.room.recent import RecentMessages
from services.room.store.protocol import RoomStore
from services.room.store.records import (
    AuthorRecord,
    MessageRecord,
    ReplyStart,
    RoomRecord,
    SpeechRecord,
)


def room_updated(room: pb.Room) -> pb.SessionEvent:
    return pb.SessionEvent(room_updated=pb.RoomUpdated(room=room))


@dataclass(frozen=True)
class QueuedReply:
    """A persona's reply to store behind the message that asks for it, and its place in line."""

    author: AuthorRecord
    status: str  # "streaming" | "queued"
    queue_position: int = 0


class Answers(Protocol):
    """The replies a message asks for (the orchestrator's), stored in the message's commit."""

    def plan(self) -> Sequence[QueuedReply]:
        """The replies to store, with the room held (places in line are taken now)."""

    def stored(self, replies: list[pb.Message]) -> None:
        """The message and `replies` (as `plan` gave them, in order) are committed."""

    def abandon(self) -> None:
        """Nothing was stored (a duplicate, or the write failed): give the places back."""


@dataclass(frozen=True, eq=False)
class Held:
    """A room's lock, held: each write here is published right after it commits."""

    room_id: str
    repo: RoomStore
    hub: RoomHub
    recent: RecentMessages

    def publish(self, event: pb.SessionEvent) -> None:
        """Send an event to every stream of the room, in its place in the order."""
        self.hub.broadcast(self.room_id, event)

    async def append(
        self,
        author: AuthorRecord,
        content: str,
        *,
        client_msg_id: str | None = None,
        reply_to: str | None = None,
        replies: Sequence[QueuedReply] = (),
    ) -> tuple[pb.Message, bool, list[pb.Message]]:
        """Store a message under the room's next seq, and `replies` to it right behind it in the
        same commit, and publish them; a duplicate of an earlier post (same author and
        client_msg_id) is returned as it was, and neither it nor any reply is stored again."""
        posted = await self.repo.post_message(
            self.room_id,
            author,
            content,
            client_msg_id=client_msg_id,
            reply_to=reply_to,
            replies=[ReplyStart(reply.author, reply.status) for reply in replies],
        )
        message = message_pb(posted.message)
        if posted.duplicate:
            return message, True, []
        self.recent.stored(posted.message)
        self.publish(pb.SessionEvent(message=message))
        started = []
        for record, reply in zip(posted.replies, replies, strict=True):
            self.recent.stored(record)
            started.append(message_pb(record))
            started[-1].queue_position = reply.queue_position
            self.publish(pb.SessionEvent(message=started[-1]))
        return message, False, started

    async def start_reply(
        self,
        author: AuthorRecord,
        *,
        reply_to: str | None,
        status: str = "streaming",
        queue_position: int = 0,
    ) -> pb.Message:
        """Store a persona's reply (queued with its place in line, or streaming) and publish it."""
        record = await self.repo.start_ai_message(
            self.room_id, author, reply_to=reply_to, status=status
        )
        self.recent.stored(record)
        message = message_pb(record)
        message.queue_position = queue_position
        self.publish(pb.SessionEvent(message=message))
        return message

    async def start_queued_reply(self, message_id: str) -> pb.Message | None:
        """A queued reply starts streaming; None if it ended meanwhile (stopped elsewhere)."""
        record = await self.repo.start_queued_reply(message_id)
        if record is None:
            return None
        self.recent.stored(record)
        message = message_pb(record)
        self.publish(pb.SessionEvent(message=message))
        return message

    async def finish_reply(self, message_id: str, **fields: Any) -> pb.Message:
        """Store a reply's final state (`RoomStore.finish_message` fields) and publish it."""
        record = await self.repo.finish_message(message_id, **fields)
        self.recent.stored(record)
        message = message_pb(record)
        self.publish(pb.SessionEvent(message=message))
        return message

    async def save_speech(self, message_id: str, speech: SpeechRecord) -> pb.Message:
        """Store how a reply's speech went and publish the message with it."""
        record = await self.repo.save_speech(message_id, speech)
        self.recent.stored(record)
        message = message_pb(record)
        self.publish(pb.SessionEvent(message=message))
        return message

    async def update_room(
        self, write: Callable[[], Awaitable[RoomRecord | None]]
    ) -> RoomRecord | None:
        """Run a write that changes the room and publish the room as it left it (if it did)."""
        record = await write()
        if record is not None:
            self.publish(room_updated(room_pb(record)))
        return record

    async def publish_room(self) -> pb.Room:
        """Publish the room as stored (after a change made elsewhere)."""
        room = room_pb(await self.repo.get_room(self.room_id))
        self.publish(room_updated(room))
        return room


class Timeline:
    """Every room's ordered writes and broadcasts, over one repository and one hub; what
    those writes mean to the rest of the service goes out as `events` (the hub's)."""

    def __init__(self, repo: RoomStore, hub: RoomHub, recent: RecentMessages | None = None) -> None:
        self.repo = repo
        self.hub = hub
        self.events = hub.events
        self.recent = recent or RecentMessages(repo)
        # A lock lives as long as anyone holds or awaits it (the hub's room state goes when
        # the room is idle), so everyone always gets the same one and commit order holds.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def _lock(self, room_id: str) -> asyncio.Lock:
        lock = self._locks.get(room_id)
        if lock is None:
            lock = self._locks[room_id] = asyncio.Lock()
        return lock

    def busy(self, room_id: str) -> bool:
        """Whether someone holds the room now (for tests and diagnostics)."""
        lock = self._locks.get(room_id)
        return lock is not None and lock.locked()

    @asynccontextmanager
    async def hold(self, room_id: str) -> AsyncIterator[Held]:
        """Hold the room: nothing else is committed or published in it until this ends."""
        async with self._lock(room_id):
            yield Held(room_id, self.repo, self.hub, self.recent)

    async def recent_messages(
        self, room_id: str, *, upto_seq: int, limit: int
    ) -> list[MessageRecord]:
        """The newest `limit` messages with seq <= `upto_seq`, oldest first, from memory where
        the room's newest messages are held (recent.py), else from the store."""
        return await self.recent.upto(room_id, upto_seq, limit)

    async def checkpoint(self, room_id: str, message_id: str, content: str) -> None:
        """Store a streaming reply's text so far (not published: its deltas were)."""
        await self.repo.checkpoint_message(message_id, content)
        self.recent.checkpointed(room_id, message_id, content)

    def publish(self, room_id: str, event: pb.SessionEvent) -> None:
        """Send an event that is not stored (a delta, typing, a status) to every stream."""
        self.hub.broadcast(room_id, event)

    def emit(self, event: RoomEvent) -> None:
        """Tell the room service's subscribers what happened (after it was committed)."""
        self.events.emit(event)

    async def append(
        self,
        room_id: str,
        author: AuthorRecord,
        content: str,
        *,
        client_msg_id: str | None = None,
        reply_to: str | None = None,
        answers: Answers | None = None,
    ) -> tuple[pb.Message, bool]:
        """`Held.append` in a hold of its own, with the replies `answers` plans for a mention
        stored in the same commit, before anyone else writes."""
        async with self.hold(room_id) as held:
            planned = answers.plan() if answers is not None else ()
            try:
                message, duplicate, replies = await held.append(
                    author,
                    content,
                    client_msg_id=client_msg_id,
                    reply_to=reply_to,
                    replies=planned,
                )
            except BaseException:
                if answers is not None:
                    answers.abandon()
                raise
            if answers is not None:
                if duplicate:
                    answers.abandon()
                else:
                    answers.stored(replies)
        return message, duplicate

    async def finish_reply(self, room_id: str, message_id: str, **fields: Any) -> pb.Message:
        """`Held.finish_reply` in a hold of its own."""
        async with self.hold(room_id) as held:
            return await held.finish_reply(message_id, **fields)

    async def save_speech(self, room_id: str, message_id: str, speech: SpeechRecord) -> pb.Message:
        """`Held.save_speech` in a hold of its own."""
        async with self.hold(room_id) as held:
            return await held.save_speech(message_id, speech)

    async def update_room(
        self, room_id: str, write: Callable[[], Awaitable[RoomRecord | None]]
    ) -> RoomRecord | None:
        """`Held.update_room` in a hold of its own."""
        async with self.hold(room_id) as held:
            return await held.update_room(write)

    async def publish_room(self, room_id: str) -> pb.Room:
        """`Held.publish_room` in a hold of its own."""
        async with self.hold(room_id) as held:
            return await held.publish_room()

    async def attach(
        self,
        stream: GatewayStream,
        load_room: Callable[[], Awaitable[pb.Room]],
        streaming: Callable[[], list[pb.Message]] = list,
        speaking: Callable[[], list[pb.SpeechEvent]] = list,
    ) -> None:
        """Add a gateway stream: its first event is the room as committed, with nothing
        published between that read and the stream joining the room's fan-out."""
        async with self.hold(stream.room_id):
            room = await load_room()
            self.hub.open(stream, room, streaming, speaking)
