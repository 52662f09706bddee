"""Room, persona and message persistence; every public method is one transaction."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, cast
from uuid import uuid4

from sqlalchemy import Connection, Row, Select, Table, Update, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.common.errors import InvalidArgument, NotFound
from services.room.store.autopilot import autopilot_record, load_summaries
from services.room.store.base import Repository
from services.room.store.models import Message, Room, RoomMember, utcnow
from services.room.store.personas import (
    add_personas,
    check_handles,
    load_personas,
    replace_personas,
)
from services.room.store.records import (
    AuthorRecord,
    AutopilotRecord,
    MessageRecord,
    PersonaRecord,
    RoomRecord,
    SummaryRecord,
)

ROOM_NOT_FOUND = "Room not found."
MESSAGE_NOT_FOUND = "Message not found."
FINAL_STATUSES = frozenset({"complete", "interrupted", "error"})
RESTARTED = "The room service restarted while this reply was being written."


class RoomRepository(Repository):
    """Rooms, their personas and their densely numbered messages, stored through SQLAlchemy."""

    def __init__(
        self, engine: AsyncEngine, autopilot_defaults: AutopilotRecord | None = None
    ) -> None:
        super().__init__(engine)
        # What a room's autopilot settings are until someone sets them.
        self.autopilot_defaults = autopilot_defaults or AutopilotRecord()

    def write_session(self) -> AbstractAsyncContextManager[AsyncSession]:
        """A begun write transaction, queued with this engine's writers (for sibling stores)."""
        return self._write()

    def read_session(self) -> AsyncSession:
        """A session for reads (for sibling stores)."""
        return self._sessions()

    # --- rooms ----------------------------------------------------------------------------------

    async def create_room(
        self,
        name: str,
        created_by: str,
        personas: Sequence[PersonaRecord] = (),
        *,
        access: str = "invite",
        allow_guests: bool = False,
        owner_id: str | None = None,
    ) -> RoomRecord:
        """Store a new, empty room with `personas` in the given order (and `owner_id` as owner)."""
        check_handles(personas)
        now = utcnow()
        room = Room(
            id=str(uuid4()),
            name=name,
            created_by=created_by,
            created_at=now,
            updated_at=now,
            last_seq=0,
            access=access,
            allow_guests=allow_guests,
        )
        async with self._write() as session:
            session.add(room)
            await session.flush()  # the room row before the rows that reference it
            add_personas(session, room.id, personas, now)
            if owner_id is not None:
                session.add(
                    RoomMember(room_id=room.id, account_id=owner_id, role="owner", created_at=now)
                )
        return self._room_record(room, tuple(personas))

    async def get_room(self, room_id: str) -> RoomRecord:
        """The room `room_id`; NotFound if there is none."""
        async with self._sessions() as session:
            room = await session.get(Room, room_id)
            if room is None:
                raise NotFound(ROOM_NOT_FOUND)
            personas = await load_personas(session, [room_id])
            summaries = await load_summaries(session, [room_id])
            return self._room_record(room, personas.get(room_id, ()), summaries.get(room_id))

    async def list_rooms(self, limit: int) -> list[RoomRecord]:
        """Up to `limit` rooms, newest first (all of them: for administrators)."""
        query = select(Room).order_by(Room.created_at.desc(), Room.id.desc()).limit(limit)
        async with self._sessions() as session:
            rooms = list(await session.scalars(query))
            personas = await load_personas(session, [room.id for room in rooms])
            summaries = await load_summaries(session, [room.id for room in rooms])
        return [
            self._room_record(room, personas.get(room.id, ()), summaries.get(room.id))
            for room in rooms
        ]

    async def update_room(
        self,
        room_id: str,
        *,
        name: str | None = None,
        personas: Sequence[PersonaRecord] | None = None,
        access: str | None = None,
        allow_guests: bool | None = None,
    ) -> RoomRecord:
        """Change the given fields of a room and bump its updated_at; NotFound if there is none.

        `personas`, when given, replaces all of the room's personas.
        """
        if personas is not None:
            check_handles(personas)
        now = utcnow()
        values: dict[str, Any] = {"updated_at": now}
        if name is not None:
            values["name"] = name
        if access is not None:
            values["access"] = access
        if allow_guests is not None:
            values["allow_guests"] = allow_guests
        statement = update(Room).where(Room.id == room_id).values(values).returning(Room)
        async with self._write() as session:
            # The room row is locked first, so concurrent replacements of personas queue up.
            room = await session.scalar(statement, execution_options={"synchronize_session": False})
            if room is None:
                raise NotFound(ROOM_NOT_FOUND)
            if personas is None:
                stored = (await load_personas(session, [room_id])).get(room_id, ())
            else:
                await replace_personas(session, room_id, personas, now)
                stored = tuple(personas)
            summaries = await load_summaries(session, [room_id])
            return self._room_record(room, stored, summaries.get(room_id))

    # --- messages -------------------------------------------------------------------------------

    async def post_message(
        self,
        room_id: str,
        author: AuthorRecord,
        content: str,
        *,
        client_msg_id: str | None,
        reply_to: str | None,
    ) -> tuple[MessageRecord, bool]:
        """Store a message under the room's next seq; returns (message, is_duplicate).

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
        try:
            seq = await self._write_core(_insert_message, message)
        except _Duplicate as duplicate:
            return duplicate.original, True
        return dataclasses.replace(message, seq=seq), False

    async def get_message(self, room_id: str, message_id: str) -> MessageRecord:
        """The message `message_id` of room `room_id`; NotFound if the room has no such message."""
        query = select(Message).where(Message.id == message_id, Message.room_id == room_id)
        async with self._sessions() as session:
            message = await session.scalar(query)
        if message is None:
            raise NotFound(MESSAGE_NOT_FOUND)
        return _message_record(message)

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
            rows = list(await session.scalars(_page_query(room_id, before, after).limit(limit + 1)))
        has_more = len(rows) > limit
        page = rows[:limit]
        if after is None:
            page.reverse()
        return [_message_record(message) for message in page], has_more

    async def recent_messages(
        self, room_id: str, *, upto_seq: int, limit: int
    ) -> list[MessageRecord]:
        """The newest `limit` messages with seq <= `upto_seq`, oldest first (none if no room)."""
        query = _page_query(room_id, before=upto_seq + 1, after=None).limit(limit)
        async with self._sessions() as session:
            rows = list(await session.scalars(query))
        rows.reverse()
        return [_message_record(message) for message in rows]

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
        if author.kind != "ai":
            raise ValueError(f"AI replies need an author of kind 'ai', not {author.kind!r}")
        if status not in ("streaming", "queued"):
            raise ValueError(f"a reply starts streaming or queued, not {status!r}")
        message = _new_message(room_id, author, "", reply_to=reply_to, status=status)
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
            return [_message_record(message) for message in await session.scalars(query)]

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
            messages = [_message_record(message) for message in result]
        return sorted(messages, key=lambda message: (message.room_id, message.seq))

    def _room_record(
        self,
        room: Room,
        personas: tuple[PersonaRecord, ...],
        summary: SummaryRecord | None = None,
    ) -> RoomRecord:
        return room_record(room, personas, summary, self.autopilot_defaults)


def _page_query(room_id: str, before: int | None, after: int | None) -> Select[Message]:
    # Keyset on the (room_id, seq) unique index: cost does not grow with the room's size.
    query = select(Message).where(Message.room_id == room_id)
    if after is not None:
        return query.where(Message.seq > after).order_by(Message.seq.asc())
    if before is not None:
        query = query.where(Message.seq < before)
    return query.order_by(Message.seq.desc())


class _Duplicate(Exception):
    """Rolls back a post whose (room, author, client_msg_id) is already stored."""

    def __init__(self, original: MessageRecord) -> None:
        super().__init__(original.id)
        self.original = original


# Core statements on the tables skip the ORM's bookkeeping.
_MESSAGES = cast(Table, Message.__table__)
_ROOMS = cast(Table, Room.__table__)
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
            postgresql.insert(_MESSAGES)
            .from_select([*values, "seq"], from_seq)
            .on_conflict_do_nothing(index_elements=_IDEMPOTENCY_KEY)
            .returning(_MESSAGES.c.seq)
        )
    else:
        seq = connection.scalar(next_seq)
        if seq is not None:
            stored = connection.scalar(
                sqlite.insert(_MESSAGES)
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
        raise _Duplicate(_message_record(original))
    if message.reply_to is not None:
        parent_room = connection.scalar(
            select(_MESSAGES.c.room_id).where(_MESSAGES.c.id == message.reply_to)
        )
        if parent_room != message.room_id:
            raise InvalidArgument("reply_to must name a message in this room.")
    return int(seq)


def _updated_message(connection: Connection, statement: Update) -> MessageRecord | None:
    """Run an UPDATE of one message; the row it returns, if it has a RETURNING and a match."""
    result = connection.execute(statement)
    if not result.returns_rows:
        return None
    row = result.one_or_none()
    return None if row is None else _message_record(row)


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


def room_record(
    room: Room,
    personas: tuple[PersonaRecord, ...],
    summary: SummaryRecord | None = None,
    autopilot_defaults: AutopilotRecord | None = None,
) -> RoomRecord:
    """A room row, its personas and its summary as a record (`autopilot_defaults` fill in the
    autopilot settings never set)."""
    return RoomRecord(
        id=room.id,
        name=room.name,
        created_by=room.created_by,
        created_at=room.created_at,
        updated_at=room.updated_at,
        last_seq=room.last_seq,
        personas=personas,
        access=room.access,
        allow_guests=room.allow_guests,
        autopilot=autopilot_record(room, autopilot_defaults or AutopilotRecord()),
        summary=summary,
    )


def _message_record(message: Message | Row[Any]) -> MessageRecord:
    """A message row (ORM object or Core row: the same attribute names) as a record."""
    return MessageRecord(
        id=message.id,
        room_id=message.room_id,
        seq=message.seq,
        author=AuthorRecord(
            id=message.author_id,
            name=message.author_name,
            kind=message.author_kind,
            handle=message.author_handle,
        ),
        content=message.content,
        reply_to=message.reply_to,
        status=message.status,
        client_msg_id=message.client_msg_id,
        created_at=message.created_at,
        model=message.model,
        prompt_tokens=message.prompt_tokens,
        completion_tokens=message.completion_tokens,
        ttft_ms=message.ttft_ms,
        total_ms=message.total_ms,
        error=message.error,
    )
