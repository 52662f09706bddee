"""A room's densely numbered messages and the AI replies among them; one transaction each."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, cast
from uuid import uuid4

from sqlalchemy import Connection, Select, Table, Update, literal, select, update

from services.common.clock import utcnow
from services.common.errors import InvalidArgument, NotFound
from services.room.store.records import (
    MESSAGE_NOT_FOUND,
    ROOM_NOT_FOUND,
    AuthorRecord,
    MessageRecord,
    Posted,
    ReplyStart,
    SpeechRecord,
)
from services.room.store.sql.base import Repository
from services.room.store.sql.dialect import upsert
from services.room.store.sql.models import Message, Room
from services.room.store.sql.rows import MESSAGE_COLUMNS, message_from_values, message_record

FINAL_STATUSES = frozenset({"complete", "interrupted", "error"})
RESTARTED = "The room service restarted while this reply was being written."


class MessageRows(Repository):
    """Posting, paging and finishing a room's messages (RoomRepository's message half)."""

    # --- messages -------------------------------------------------------------------------------

    async def post_message(
        self,
        room_id: str,
        author: AuthorRecord,
        content: str,
        *,
        client_msg_id: str | None,
        reply_to: str | None,
        replies: Sequence[ReplyStart] = (),
    ) -> Posted:
        """Store a message under the room's next seq and `replies` to it right behind it, in one
        transaction (one commit: a mention and the replies it asks for cost one sync, not two).

        A repeated (room, author, client_msg_id) returns the stored message and stores nothing.
        """
        message = _new_message(
            room_id,
            author,
            content,
            reply_to=reply_to,
            status="complete",
            client_msg_id=client_msg_id,
        )
        started = [_new_reply(room_id, start, reply_to=message.id) for start in replies]
        try:
            seqs = await self._write_core(_insert_messages, [message, *started])
        except _Duplicate as duplicate:
            return Posted(duplicate.original, True)
        posted = [message, *started]
        stored = [dataclasses.replace(m, seq=seq) for m, seq in zip(posted, seqs, strict=True)]
        return Posted(stored[0], False, tuple(stored[1:]))

    async def get_message(self, room_id: str, message_id: str) -> MessageRecord:
        """The message `message_id` of room `room_id`; NotFound if the room has no such message."""
        query = select(Message).where(Message.id == message_id, Message.room_id == room_id)
        async with self._sessions() as session:
            message = await session.scalar(query)
        if message is None:
            raise NotFound(MESSAGE_NOT_FOUND)
        return message_record(message)

    async def load_history(
        self, room_id: str, *, before: int | None, after: int | None, limit: int
    ) -> tuple[list[MessageRecord], bool]:
        """One page of a room's messages, oldest first, and whether more lie beyond it.

        No cursor: the newest `limit`; `before=S`: the newest `limit` with seq < S;
        `after=S`: the oldest `limit` with seq > S. "Beyond" is older for the first two and
        newer for `after`.
        """
        if before is not None and after is not None:
            raise InvalidArgument("Pass either before or after, not both.")
        async with self._sessions() as session:
            if await session.scalar(select(Room.id).where(Room.id == room_id)) is None:
                raise NotFound(ROOM_NOT_FOUND)
            # One row past the page tells whether there is more.
            rows = list(await session.execute(_page_query(room_id, before, after).limit(limit + 1)))
        has_more = len(rows) > limit
        page = rows[:limit]
        if after is None:
            page.reverse()
        return [message_from_values(row) for row in page], has_more

    async def recent_messages(
        self, room_id: str, *, upto_seq: int, limit: int
    ) -> list[MessageRecord]:
        """The newest `limit` messages with seq <= `upto_seq`, oldest first (none if no room)."""
        query = _page_query(room_id, before=upto_seq + 1, after=None).limit(limit)
        async with self._sessions() as session:
            rows = list(await session.execute(query))
        rows.reverse()
        return [message_from_values(row) for row in rows]

    # --- AI replies -----------------------------------------------------------------------------

    async def start_ai_message(
        self,
        room_id: str,
        author: AuthorRecord,
        *,
        reply_to: str | None = None,
        status: str = "streaming",
    ) -> MessageRecord:
        """Store an empty AI reply, "streaming" or "queued", under the room's next seq."""
        message = _new_reply(room_id, ReplyStart(author, status), reply_to=reply_to)
        seq = await self._write_core(_insert_message, message)
        return dataclasses.replace(message, seq=seq)

    async def start_queued_reply(self, message_id: str) -> MessageRecord | None:
        """A queued reply's turn came: it is "streaming" now; None if it is no longer queued."""
        statement = (
            update(_MESSAGES)
            .where(_MESSAGES.c.id == message_id, _MESSAGES.c.status == "queued")
            .values(status="streaming")
            .returning(_MESSAGES)
        )
        return await self._write_core(_updated_message, statement)

    async def queued_replies(self) -> list[MessageRecord]:
        """Every reply still waiting for its turn, oldest first (for startup: they are resumed)."""
        query = select(Message).where(Message.status == "queued").order_by(Message.created_at)
        async with self._sessions() as session:
            return [message_record(message) for message in await session.scalars(query)]

    async def checkpoint_message(self, message_id: str, content: str) -> None:
        """Store the partial text of a reply that is still streaming; otherwise do nothing."""
        statement = (
            update(_MESSAGES)
            .where(_MESSAGES.c.id == message_id, _MESSAGES.c.status == "streaming")
            .values(content=content)
        )
        await self._write_core(_updated_message, statement)

    async def finish_message(
        self,
        message_id: str,
        *,
        content: str,
        status: str,
        model: str | None = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        ttft_ms: int | None = None,
        total_ms: int | None = None,
        error: str | None = None,
    ) -> MessageRecord:
        """Store the final text, status, usage and timing of a reply; NotFound if there is none."""
        if status not in FINAL_STATUSES:
            raise ValueError(
                f"final status must be one of {sorted(FINAL_STATUSES)}, not {status!r}"
            )
        statement = (
            update(_MESSAGES)
            .where(_MESSAGES.c.id == message_id)
            .values(
                content=content,
                status=status,
                model=model,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                ttft_ms=ttft_ms,
                total_ms=total_ms,
                error=error,
            )
            .returning(_MESSAGES)
        )
        message = await self._write_core(_updated_message, statement)
        if message is None:
            raise NotFound(MESSAGE_NOT_FOUND)
        return message

    async def save_speech(self, message_id: str, speech: SpeechRecord) -> MessageRecord:
        """Store how a reply's speech went; NotFound if there is no such message."""
        statement = (
            update(_MESSAGES)
            .where(_MESSAGES.c.id == message_id)
            .values(
                speech_voice=speech.voice,
                speech_sentences=speech.sentences,
                speech_final=speech.final,
                speech_error=speech.error,
                speech_sample_rate=speech.sample_rate,
            )
            .returning(_MESSAGES)
        )
        message = await self._write_core(_updated_message, statement)
        if message is None:
            raise NotFound(MESSAGE_NOT_FOUND)
        return message

    async def interrupt_streaming(self) -> list[MessageRecord]:
        """Mark every reply still "streaming" as "interrupted" and return them, by room and seq.

        For startup: a reply left streaming lost its generation when the previous process ended.
        """
        statement = (
            update(Message)
            .where(Message.status == "streaming")
            .values(status="interrupted", error=RESTARTED)
            .returning(Message)
        )
        async with self._write() as session:
            result = await session.scalars(
                statement, execution_options={"synchronize_session": False}
            )
            messages = [message_record(message) for message in result]
        return sorted(messages, key=lambda message: (message.room_id, message.seq))


def _page_query(room_id: str, before: int | None, after: int | None) -> Select[Any]:
    # Keyset on the (room_id, seq) unique index: cost does not grow with the room's size.
    # Core rows, not ORM objects: a page is up to 500 messages, and building each as a mapped
    # object cost several times more than reading it (the context of every reply reads one).
    columns = _MESSAGES.c
    query = select(*_RECORD_COLUMNS).where(columns.room_id == room_id)
    if after is not None:
        return query.where(columns.seq > after).order_by(columns.seq.asc())
    if before is not None:
        query = query.where(columns.seq < before)
    return query.order_by(columns.seq.desc())


class _Duplicate(Exception):
    """Rolls back a post whose (room, author, client_msg_id) is already stored."""

    def __init__(self, original: MessageRecord) -> None:
        super().__init__(original.id)
        self.original = original


# Core statements on the tables skip the ORM's bookkeeping.
_MESSAGES = cast(Table, Message.__table__)
_ROOMS = cast(Table, Room.__table__)
_RECORD_COLUMNS = tuple(_MESSAGES.c[name] for name in MESSAGE_COLUMNS)
# What makes a repeated send a duplicate (a unique constraint of the messages table).
_IDEMPOTENCY_KEY = ("room_id", "author_id", "client_msg_id")


def _insert_message(connection: Connection, message: MessageRecord) -> int:
    """Store `message` under its room's next seq and return the seq (the hot path of a send).

    Taking the seq updates the room row first, and its write lock orders concurrent posters of
    the room. A (room, author, client_msg_id) that is already stored raises _Duplicate with the
    stored message, and a reply to a message of another room raises InvalidArgument: either
    rolls the transaction back, seq included.
    """
    next_seq = (
        update(_ROOMS)
        .where(_ROOMS.c.id == message.room_id)
        .values(last_seq=_ROOMS.c.last_seq + 1)
        .returning(_ROOMS.c.last_seq)
    )
    values = _message_values(message)
    seq: int | None
    if connection.dialect.name == "postgresql":
        # One round trip: the seq and the insert in one statement.
        allocated = next_seq.cte("next_seq")
        from_seq = select(
            *(literal(value, _MESSAGES.c[name].type) for name, value in values.items()),
            allocated.c.last_seq,
        )
        seq = connection.scalar(
            upsert("postgresql", _MESSAGES)
            .from_select([*values, "seq"], from_seq)
            .on_conflict_do_nothing(index_elements=_IDEMPOTENCY_KEY)
            .returning(_MESSAGES.c.seq)
        )
    else:
        seq = connection.scalar(next_seq)
        if seq is not None:
            stored = connection.scalar(
                upsert("sqlite", _MESSAGES)
                .values({**values, "seq": seq})
                .on_conflict_do_nothing(index_elements=_IDEMPOTENCY_KEY)
                .returning(_MESSAGES.c.id)
            )
            seq = None if stored is None else seq
    if seq is None:  # no such room, or a duplicate
        # Visible here even when a concurrent poster committed it after this transaction began.
        original = connection.execute(
            select(_MESSAGES).where(
                _MESSAGES.c.room_id == message.room_id,
                _MESSAGES.c.author_id == message.author.id,
                _MESSAGES.c.client_msg_id == message.client_msg_id,
            )
        ).one_or_none()
        if original is None:
            raise NotFound(ROOM_NOT_FOUND)
        raise _Duplicate(message_record(original))
    if message.reply_to is not None:
        parent_room = connection.scalar(
            select(_MESSAGES.c.room_id).where(_MESSAGES.c.id == message.reply_to)
        )
        if parent_room != message.room_id:
            raise InvalidArgument("reply_to must name a message in this room.")
    return int(seq)


def _insert_messages(connection: Connection, messages: list[MessageRecord]) -> list[int]:
    """`_insert_message` for each of `messages` in turn, in one transaction: their seqs."""
    return [_insert_message(connection, message) for message in messages]


def _updated_message(connection: Connection, statement: Update) -> MessageRecord | None:
    """Run an UPDATE of one message; the row it returns, if it has a RETURNING and a match."""
    result = connection.execute(statement)
    if not result.returns_rows:
        return None
    row = result.one_or_none()
    return None if row is None else message_record(row)


def _new_reply(room_id: str, start: ReplyStart, *, reply_to: str | None) -> MessageRecord:
    """An empty AI reply to store, "streaming" or "queued"."""
    if start.author.kind != "ai":
        raise ValueError(f"AI replies need an author of kind 'ai', not {start.author.kind!r}")
    if start.status not in ("streaming", "queued"):
        raise ValueError(f"a reply starts streaming or queued, not {start.status!r}")
    return _new_message(room_id, start.author, "", reply_to=reply_to, status=start.status)


def _new_message(
    room_id: str,
    author: AuthorRecord,
    content: str,
    *,
    reply_to: str | None,
    status: str,
    client_msg_id: str | None = None,
) -> MessageRecord:
    """A message to store; its seq (0 here) is the room's next, given in the transaction."""
    return MessageRecord(
        id=str(uuid4()),
        room_id=room_id,
        seq=0,
        author=author,
        content=content,
        reply_to=reply_to,
        status=status,
        client_msg_id=client_msg_id,
        created_at=utcnow(),
    )


def _message_values(message: MessageRecord) -> dict[str, Any]:
    """The columns of a new message row, but its seq."""
    return {
        "id": message.id,
        "room_id": message.room_id,
        "author_id": message.author.id,
        "author_name": message.author.name,
        "author_kind": message.author.kind,
        "author_handle": message.author.handle,
        "content": message.content,
        "reply_to": message.reply_to,
        "status": message.status,
        "client_msg_id": message.client_msg_id,
        "created_at": message.created_at,
    }
