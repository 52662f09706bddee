"""What the room service needs of a store, typed on the storage-neutral records.

The room service is written against these protocols only; `store/sql/` implements them on
SQLAlchemy (SQLite and PostgreSQL) and a DynamoDB store will implement them the same way.
`store/registry.py` opens the one the database URL names, and `store/tests/test_contract.py`
holds every implementation to the same behaviour. Each method is one transaction: what it
writes is all there or none of it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from services.room.store.records import (
    AccountRecord,
    AuthorRecord,
    AutopilotRecord,
    CredentialRecord,
    InviteRecord,
    MemberRecord,
    MessageRecord,
    OutboxRecord,
    PersonaRecord,
    Posted,
    ReplyStart,
    RoomRecord,
    SpeechRecord,
)


class AutopilotStore(Protocol):
    """A room's autopilot state and its rolling summary."""

    async def update(
        self, room_id: str, values: dict[str, Any], *, only_if_enabled: bool = False
    ) -> RoomRecord | None:
        """Set AutopilotRecord fields; None (and no change) if `only_if_enabled` and it is off."""

    async def enabled_rooms(self) -> list[str]:
        """Ids of the rooms whose autopilot is on."""

    async def save_summary(self, room_id: str, text: str, upto_seq: int) -> bool:
        """Store a summary if it reaches further than the stored one; whether it did."""


class RoomStore(Protocol):
    """Rooms, their personas and their densely numbered messages."""

    autopilot_defaults: AutopilotRecord

    @property
    def autopilot(self) -> AutopilotStore:
        """The rooms' autopilot state and summaries, in the same store."""

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
        """A new room with its personas (and its owner as a member, if given)."""

    async def get_room(self, room_id: str) -> RoomRecord:
        """The room; NotFound if there is none."""

    async def list_rooms(self, limit: int) -> list[RoomRecord]:
        """Rooms, newest first."""

    async def update_room(
        self,
        room_id: str,
        *,
        name: str | None = None,
        personas: Sequence[PersonaRecord] | None = None,
        access: str | None = None,
        allow_guests: bool | None = None,
    ) -> RoomRecord:
        """Change the fields given (personas: replace them all)."""

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
        """Store a message under the room's next seq and `replies` (to it) right behind it, in
        one transaction; an earlier post with the same author and client_msg_id is returned as
        stored, a duplicate, and nothing is stored."""

    async def get_message(self, room_id: str, message_id: str) -> MessageRecord:
        """One message of the room; NotFound if there is none."""

    async def load_history(
        self, room_id: str, *, before: int | None, after: int | None, limit: int
    ) -> tuple[list[MessageRecord], bool]:
        """A page of messages in seq order, and whether there are more beyond it."""

    async def recent_messages(
        self, room_id: str, *, upto_seq: int, limit: int
    ) -> list[MessageRecord]:
        """The last `limit` messages up to `upto_seq`, in seq order."""

    async def start_ai_message(
        self,
        room_id: str,
        author: AuthorRecord,
        *,
        reply_to: str | None = None,
        status: str = "streaming",
    ) -> MessageRecord:
        """A persona's reply, streaming or queued, under the room's next seq."""

    async def start_queued_reply(self, message_id: str) -> MessageRecord | None:
        """A queued reply starts streaming; None if it ended meanwhile."""

    async def queued_replies(self) -> list[MessageRecord]:
        """Every reply still queued, oldest first."""

    async def checkpoint_message(self, message_id: str, content: str) -> None:
        """Save a streaming reply's text so far."""

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
        """A reply's final state (complete, interrupted or error); a finished one stays as is."""

    async def save_speech(self, message_id: str, speech: SpeechRecord) -> MessageRecord:
        """How a reply's speech went (voice, sentences, final, error), stored on the message."""

    async def interrupt_streaming(self) -> list[MessageRecord]:
        """At start: every reply left streaming by the last run ends interrupted."""


class AccessStore(Protocol):
    """Who may do what in which room: members, roles, invites."""

    async def room_and_role(self, room_id: str, account_id: str) -> tuple[RoomRecord, str | None]:
        """The room and the account's role in it (None: not a member)."""

    async def visible_rooms(
        self, account_id: str, *, guest: bool, limit: int
    ) -> list[tuple[RoomRecord, str | None]]:
        """The rooms the account belongs to or may read, with its role in each."""

    async def roles(self, account_id: str, room_ids: Sequence[str]) -> dict[str, str]:
        """The account's role in each of the rooms it belongs to."""

    async def get_member(self, room_id: str, account_id: str) -> MemberRecord | None:
        """The membership, if any."""

    async def list_members(self, room_id: str) -> list[MemberRecord]:
        """The room's members."""

    async def ensure_member(
        self, room_id: str, account_id: str, role: str
    ) -> tuple[MemberRecord, bool]:
        """Make the account a member (if it is not); whether it was added."""

    async def set_role(self, room_id: str, account_id: str, role: str) -> MemberRecord:
        """Change a member's role."""

    async def remove_member(
        self, room_id: str, account_id: str, *, removed_by: str | None = None
    ) -> MemberRecord:
        """Take a member out of the room."""

    async def create_invite(
        self,
        room_id: str,
        created_by: str,
        token_hash: str,
        *,
        role: str,
        max_uses: int | None,
        expires_at: datetime | None,
    ) -> InviteRecord:
        """A new invite, known by its token's hash."""

    async def list_invites(self, room_id: str) -> list[InviteRecord]:
        """The room's invites."""

    async def revoke_invite(self, room_id: str, invite_id: str, now: datetime) -> InviteRecord:
        """Revoke an invite."""

    async def accept_invite(
        self, token_hash: str, account_id: str, *, guest: bool, now: datetime
    ) -> tuple[str, MemberRecord, bool]:
        """Use an invite: (room id, membership, whether it is new)."""


class AccountStore(Protocol):
    """Accounts and their credentials (sessions, API tokens)."""

    async def create_account(
        self,
        *,
        username: str | None,
        name: str,
        kind: str,
        password_hash: str | None = None,
        admin: bool = False,
    ) -> AccountRecord:
        """A new account; Conflict if the username is taken."""

    async def get_account(self, account_id: str) -> AccountRecord | None:
        """The account, if any."""

    async def get_by_username(self, username: str) -> tuple[AccountRecord, str | None] | None:
        """The account and its password hash, if any."""

    async def list_accounts(self, limit: int) -> list[AccountRecord]:
        """Accounts, oldest first."""

    async def update_account(
        self,
        account_id: str,
        *,
        admin: bool | None = None,
        disabled: bool | None = None,
        password_hash: str | None = None,
    ) -> AccountRecord | None:
        """Change the fields given; None if there is no such account."""

    async def add_credential(
        self,
        account_id: str,
        kind: str,
        token_hash: str,
        *,
        name: str | None = None,
        expires_at: datetime | None = None,
    ) -> CredentialRecord:
        """A new session or API token, known by its hash."""

    async def find_credential(
        self, token_hash: str
    ) -> tuple[CredentialRecord, AccountRecord] | None:
        """The credential with this hash and its account, if any."""

    async def touch_credential(self, credential_id: str, when: datetime) -> None:
        """Note when a credential was last used."""

    async def list_credentials(self, account_id: str, kind: str) -> list[CredentialRecord]:
        """An account's credentials of a kind."""

    async def count_credentials(self, account_id: str, kind: str) -> int:
        """How many credentials of a kind an account has."""

    async def delete_credential(
        self,
        *,
        kind: str,
        credential_id: str | None = None,
        token_hash: str | None = None,
        account_id: str | None = None,
    ) -> CredentialRecord | None:
        """Delete one credential (by id or hash, optionally only the account's)."""

    async def delete_credentials(self, account_id: str, kind: str) -> list[str]:
        """Delete every credential of a kind of an account; their ids."""

    async def delete_expired(self, now: datetime) -> int:
        """Delete expired credentials; how many."""


class UsageStore(Protocol):
    """AI tokens spent per UTC day, by account ("user") and by room ("room")."""

    async def used(self, scope: str, scope_id: str, day: str) -> int:
        """Tokens counted for `scope_id` on `day` (YYYY-MM-DD)."""

    async def used_many(
        self, day: str, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], int]:
        """Tokens counted on `day` for each (scope, scope id) of `keys`, in one read."""

    async def add(self, day: str, counts: dict[tuple[str, str], int]) -> None:
        """Add to several (scope, scope id) counters of `day` at once."""


class OutboxStore(Protocol):
    """Revocations written by `chimera admin`, read by the room service."""

    async def last_id(self) -> int:
        """The newest entry's id (0: none)."""

    async def after(self, after_id: int, limit: int) -> list[OutboxRecord]:
        """Entries after `after_id`, oldest first."""

    async def prune(self, before: datetime) -> int:
        """Delete entries older than `before`; how many."""
