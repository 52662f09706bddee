"""Room operations: access checks, validation, ordered commits and the broadcasts that follow."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol

from services.common.errors import InvalidArgument, PermissionDenied, Unauthenticated
from services.common.pb import room_pb2 as pb
from services.common.validation import clean_name, storable, visible
from services.room.access import VIEWERS_CANNOT_SEND, RoomAccess, RoomView, can_send
from services.room.catalog import ModelCatalog, VoiceCatalog
from services.room.convert import ACCESS_NAMES, member_pb, message_pb, room_pb
from services.room.events import HumanMessagePosted, RoomChanged
from services.room.orchestrator.turns import Admission
from services.room.personas import validate_personas
from services.room.post_limits import PostLimiter
from services.room.store.protocol import AccessStore
from services.room.store.records import AuthorRecord, MemberRecord, PersonaRecord, RoomRecord
from services.room.timeline import Answers, Timeline

logger = logging.getLogger(__name__)

MAX_ROOM_NAME = 200
MAX_CLIENT_MSG_ID = 128
DEFAULT_PAGE = 50
MAX_PAGE = 200
MAX_ROOMS = 500
INVALID_ACTOR = "Invalid or expired credentials."
GUESTS_LEFT = "Guests are no longer allowed in this room."


class Replies(Protocol):
    """Who answers a post's mentions (the orchestrator): places held first, replies queued after."""

    async def admit(self, room_id: str, account_id: str, content: str) -> Admission: ...

    def answers(self, admission: Admission, asker_id: str) -> Answers | None:
        """The replies an admitted post asks for, to store in the post's own commit."""


class Rooms:
    """What the servicer exposes, independent of gRPC; every call names its actor."""

    def __init__(
        self,
        timeline: Timeline,
        access: RoomAccess,
        *,
        max_message_chars: int,
        post_limits: PostLimiter | None = None,
        models: ModelCatalog | None = None,
        replies: Replies | None = None,
        voices: VoiceCatalog | None = None,
    ) -> None:
        self.timeline = timeline
        self.repo = timeline.repo
        self.hub = timeline.hub
        self.access = access
        self.max_message_chars = max_message_chars
        self.post_limits = post_limits or PostLimiter(rate=0, burst=0)  # none unless given
        self.models = models  # None: persona model ids are not checked against the LLM node
        self.replies = replies  # None: mentions are not answered
        self.voices = voices  # None: persona voices are not checked against the TTS node

    @property
    def members(self) -> AccessStore:
        return self.access.members

    async def create(
        self,
        actor: pb.User,
        name: str,
        personas: Sequence[pb.Persona] = (),
        access: int = pb.ROOM_ACCESS_UNSPECIFIED,
        allow_guests: bool = False,
    ) -> pb.Room:
        """Create a room owned by `actor`, with its personas (a guest's room admits guests)."""
        account = await self.access.actor(actor)
        if account is None:
            raise Unauthenticated(INVALID_ACTOR)
        name = clean_name(name, "Room name", MAX_ROOM_NAME)
        records = validate_personas(personas)
        await self._check_models(records)
        await self._check_voices(records)
        room = await self.repo.create_room(
            name,
            account.id,
            records,
            access=ACCESS_NAMES.get(access, "invite"),
            allow_guests=allow_guests or account.kind == "guest",
            owner_id=account.id,
        )
        logger.info("room created", extra={"room_id": room.id})
        return room_pb(room, "owner")

    async def _check_models(
        self, personas: Sequence[PersonaRecord], in_use: set[str] | frozenset[str] = frozenset()
    ) -> None:
        """InvalidArgument for a persona whose model the LLM node does not have.

        Models the room already uses are not asked about again: a model removed from the node
        later does not stop the owner from editing the room's other personas.
        """
        if self.models is None:
            return
        for persona in personas:
            if persona.model not in in_use:
                await self.models.check(persona.model, f"Persona @{persona.handle}")

    async def _check_voices(
        self, personas: Sequence[PersonaRecord], in_use: set[str] | frozenset[str] = frozenset()
    ) -> None:
        """InvalidArgument for a persona whose voice the TTS node does not list (as models)."""
        if self.voices is None:
            return
        for persona in personas:
            if persona.voice not in in_use:
                await self.voices.check(persona.voice, f"Persona @{persona.handle}")

    async def get(self, actor: pb.User, room_id: str) -> pb.Room:
        """One room with the actor's role; NotFound when it may not read it."""
        view = await self.access.require_read(actor, room_id)
        return room_pb(view.room, view.role)

    async def snapshot(self, room_id: str) -> pb.Room:
        """A room as every member's gateway sees it (no role); NotFound when it does not exist."""
        return room_pb(await self.repo.get_room(room_id))

    async def list_rooms(
        self, actor: pb.User, limit: int, all_rooms: bool = False
    ) -> list[pb.Room]:
        """Rooms the actor may see, newest first; `all_rooms`: every room (admins only)."""
        limit = MAX_ROOMS if limit <= 0 else min(limit, MAX_ROOMS)
        account = await self.access.actor(actor)
        if account is None:
            return []
        if all_rooms:
            if not account.admin:
                raise PermissionDenied("Only administrators can do that.")
            rooms = await self.repo.list_rooms(limit)
            roles = await self.members.roles(account.id, [room.id for room in rooms])
            return [room_pb(room, roles.get(room.id)) for room in rooms]
        visible = await self.members.visible_rooms(
            account.id, guest=account.kind == "guest", limit=limit
        )
        return [room_pb(room, role) for room, role in visible]

    async def update(
        self,
        actor: pb.User,
        room_id: str,
        name: str | None,
        personas: Sequence[pb.Persona] | None = None,
        access: int | None = None,
        allow_guests: bool | None = None,
    ) -> pb.Room:
        """Change a room's fields (owners only; personas: replace them all) and tell its members."""
        view = await self.access.require_owner(actor, room_id)
        if name is not None:
            name = clean_name(name, "Room name", MAX_ROOM_NAME)
        records = validate_personas(personas) if personas is not None else None
        if records is not None:
            await self._check_models(records, {p.model for p in view.room.personas})
            await self._check_voices(records, {p.voice for p in view.room.personas})
        access_name = None if access is None else ACCESS_NAMES.get(access, "invite")
        if allow_guests is False and view.actor.kind == "guest":
            raise InvalidArgument("A guest's room must admit guests, or its owner is locked out.")
        async with self.timeline.hold(room_id) as held:

            async def write() -> RoomRecord:
                return await self.repo.update_room(
                    room_id,
                    name=name,
                    personas=records,
                    access=access_name,
                    allow_guests=allow_guests,
                )

            record = await held.update_room(write)
            assert record is not None
            if not record.allow_guests:
                for user_id in self.hub.guests(room_id):
                    self.remove_connections(room_id, user_id, GUESTS_LEFT)
        self.timeline.emit(RoomChanged(room_id))
        return room_pb(record, view.role)

    async def history(
        self, actor: pb.User, room_id: str, before: int | None, after: int | None, limit: int
    ) -> tuple[list[pb.Message], bool]:
        """A keyset page of messages, oldest first, and whether more lie beyond it."""
        await self.access.require_read(actor, room_id)
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

    async def require_member(self, actor: pb.User, room_id: str) -> RoomView:
        """`RoomAccess.require_member`, announcing a reader of an open room who became a member."""
        view = await self.access.require_member(actor, room_id)
        if view.joined is not None:
            self.announce_member(view.joined)
        return view

    async def require_sender(self, actor: pb.User, room_id: str, denied: str) -> RoomView:
        """As `require_member`, then PermissionDenied with `denied` for viewers."""
        view = await self.require_member(actor, room_id)
        if not can_send(view.role):
            raise PermissionDenied(denied)
        return view

    async def post(
        self,
        room_id: str,
        author: pb.User,
        content: str,
        client_msg_id: str,
        reply_to: str,
        *,
        role: str | None = None,
    ) -> tuple[pb.Message, bool]:
        """Store a human message, then send it to every stream; duplicates are returned, not stored.

        `role`: the author's role as a live connection already knows it (no lookup then).
        """
        if role is None:
            role = (await self.require_member(author, room_id)).role
        if not can_send(role):
            raise PermissionDenied(VIEWERS_CANNOT_SEND)
        storable(content, "Message content")
        storable(client_msg_id, "client_msg_id")
        storable(reply_to, "reply_to")
        if not content.strip():
            raise InvalidArgument("Message content must not be empty.")
        if not visible(content):
            raise InvalidArgument(
                "Message content must have a visible character, not only invisible ones."
            )
        if len(content) > self.max_message_chars:
            raise InvalidArgument(
                f"Message content must be at most {self.max_message_chars} characters."
            )
        if len(client_msg_id) > MAX_CLIENT_MSG_ID:
            raise InvalidArgument(f"client_msg_id must be at most {MAX_CLIENT_MSG_ID} characters.")
        self.post_limits.take(room_id, author.id)  # every way of posting passes here
        admission = None
        if self.replies is not None:  # refused here, past the account's waiting replies
            admission = await self.replies.admit(room_id, author.id, content)
        record_author = AuthorRecord(id=author.id, name=author.name, kind="human")
        # Shielded: a cancelled caller (a stream that went away) must not leave a message
        # committed but never broadcast, nor its mentions unanswered.
        return await asyncio.shield(
            self._store(room_id, record_author, content, client_msg_id, reply_to, admission)
        )

    async def _store(
        self,
        room_id: str,
        author: AuthorRecord,
        content: str,
        client_msg_id: str,
        reply_to: str,
        admission: Admission | None,
    ) -> tuple[pb.Message, bool]:
        answers = None
        if self.replies is not None and admission is not None:
            # Stored in the message's commit: whoever reads the room next (an autopilot turn)
            # finds the mentions' replies already there, right behind it.
            answers = self.replies.answers(admission, author.id)
        try:
            message, duplicate = await self.timeline.append(
                room_id,
                author,
                content,
                client_msg_id=client_msg_id or None,
                reply_to=reply_to or None,
                answers=answers,
            )
            if not duplicate:
                self.hub.set_typing(room_id, pb.User(id=author.id, name=author.name), False)
                self.timeline.emit(HumanMessagePosted(message))
        finally:
            if admission is not None:
                admission.release()
        return message, duplicate

    # --- what every stream of a room is told when membership changes -------------------------

    def announce_member(self, member: MemberRecord) -> None:
        """A member joined or its role changed: live connections get the new role at once."""
        self.hub.set_role(member.room_id, member.account_id, member.role)
        updated = pb.MemberUpdated(member=member_pb(member))
        self.timeline.publish(member.room_id, pb.SessionEvent(member_updated=updated))

    def remove_connections(self, room_id: str, user_id: str, reason: str) -> None:
        """A user may no longer read the room: gateways close its sockets, presence forgets it."""
        removed = pb.MemberRemoved(user_id=user_id, reason=reason)
        self.timeline.publish(room_id, pb.SessionEvent(member_removed=removed))
        self.hub.remove_user(room_id, user_id)
