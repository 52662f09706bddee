"""Plain, immutable results of the room repository; ORM objects never leave it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# What every store says when a room or message does not exist (clients see it).
ROOM_NOT_FOUND = "Room not found."
MESSAGE_NOT_FOUND = "Message not found."
MEMBER_NOT_FOUND = "Member not found."
INVITE_INVALID = "Invite not found or no longer valid."
USERNAME_TAKEN = "That username is taken."
LAST_OWNER = "A room needs an owner: make someone else owner first."


@dataclass(frozen=True, slots=True)
class PersonaRecord:
    """An AI persona of a room, answering to `@handle` with `model`."""

    handle: str
    name: str
    model: str
    system_prompt: str
    temperature: float
    max_tokens: int
    talkativeness: float = 0.5  # weight in autopilot's natural draw, 0..1
    muted: bool = False  # takes no autopilot turns
    voice: str = ""  # a voice id of the TTS node; "" = the persona is not heard
    voice_rate: float = 1.0  # speaking rate, 0.5..2


@dataclass(frozen=True, slots=True)
class AutopilotRecord:
    """A room's autopilot: its settings (service defaults filled in) and the state of its run.

    `stopped_reason` is why it last stopped ("max_turns", "token_budget", "idle",
    "switched_off", "error"), "" while it runs or if it never ran.
    """

    enabled: bool = False
    strategy: str = "natural"
    max_turns: int = 10
    token_budget: int = 200_000  # 0 = no limit
    idle_timeout_s: int = 300
    summary_model: str = ""  # "" = the room service's default
    turns: int = 0
    tokens_used: int = 0
    stopped_reason: str = ""


@dataclass(frozen=True, slots=True)
class SummaryRecord:
    """A room's rolling summary: every message with seq <= `upto_seq`, folded into `text`."""

    text: str
    upto_seq: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class RoomRecord:
    """A room as stored, with its personas in their order, its autopilot and its summary."""

    id: str
    name: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    last_seq: int
    personas: tuple[PersonaRecord, ...] = ()
    access: str = "invite"  # "invite" | "open"
    allow_guests: bool = False
    autopilot: AutopilotRecord = AutopilotRecord()
    summary: SummaryRecord | None = None


@dataclass(frozen=True, slots=True)
class AuthorRecord:
    """Who wrote a message; `kind` is "human", "ai" or "system", `handle` the persona's if "ai"."""

    id: str
    name: str
    kind: str
    handle: str | None = None


@dataclass(frozen=True, slots=True)
class SpeechRecord:
    """How an AI reply's speech went: its voice, the sentences spoken, and why it ended early."""

    voice: str
    sentences: int = 0
    final: bool = False
    error: str = ""  # "" = it did not fail nor stop early
    sample_rate: int = 0


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """A message as stored; `seq` numbers the messages of a room 1, 2, 3, …

    `status` is "complete", "streaming", "interrupted" or "error"; the fields after
    `created_at` describe AI replies and are None on other messages.
    """

    id: str
    room_id: str
    seq: int
    author: AuthorRecord
    content: str
    reply_to: str | None
    status: str
    client_msg_id: str | None
    created_at: datetime
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    ttft_ms: int | None = None
    total_ms: int | None = None
    error: str | None = None
    speech: SpeechRecord | None = None  # replies of a persona with a voice, once spoken


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """A registered user (`kind` "user") or a guest; the password hash never leaves the store."""

    id: str
    username: str | None
    name: str
    kind: str
    admin: bool
    disabled: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CredentialRecord:
    """A sign-in session (`kind` "session") or a personal API token ("api_token")."""

    id: str
    account_id: str
    kind: str
    name: str | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class MemberRecord:
    """An account's role in a room: "owner", "member" or "viewer"."""

    room_id: str
    account_id: str
    name: str
    role: str
    guest: bool
    joined_at: datetime


@dataclass(frozen=True, slots=True)
class InviteRecord:
    """An invite to a room; `max_uses` and `expires_at` None mean unlimited and never."""

    id: str
    room_id: str
    created_by: str
    role: str
    max_uses: int | None
    uses: int
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """One revocation: a credential id, or an account id for a disabled account."""

    id: int
    credential_id: str | None
    account_id: str | None


@dataclass(frozen=True, slots=True)
class ReplyStart:
    """A persona's reply to store right behind the message that asks for it."""

    author: AuthorRecord  # of kind "ai"
    status: str = "streaming"  # "streaming" | "queued"


@dataclass(frozen=True, slots=True)
class Posted:
    """What `post_message` stored: the message (or the earlier one it repeats) and its replies."""

    message: MessageRecord
    duplicate: bool
    replies: tuple[MessageRecord, ...] = ()
