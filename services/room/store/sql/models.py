"""SQLAlchemy tables of the room service: rooms, personas, messages, summaries, accounts, access,
usage and the revocation outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from services.common.clock import utcnow

# Deterministic constraint names, so migrations can name what they alter on both databases.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every database, including SQLite which stores no offset."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; store aware UTC datetimes only")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        # SQLite hands back the naive UTC value that was bound; PostgreSQL an aware one.
        stored = cast(datetime, value)
        if stored.tzinfo is None:
            return stored.replace(tzinfo=UTC)
        return stored.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base whose metadata Alembic migrates."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Room(Base):
    """A room; `last_seq` is the counter that hands out message seqs."""

    __tablename__ = "rooms"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    # "invite": members only; "open": any signed-in account may read and join.
    access: Mapped[str] = mapped_column(
        String(8), default="invite", server_default=text("'invite'")
    )
    allow_guests: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # Autopilot: settings (NULL = the room service's default) and the state of its run.
    autopilot_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    autopilot_strategy: Mapped[str] = mapped_column(
        String(16), default="natural", server_default=text("'natural'")
    )
    autopilot_max_turns: Mapped[int | None] = mapped_column(Integer)
    autopilot_token_budget: Mapped[int | None] = mapped_column(BigInteger)
    autopilot_idle_timeout_s: Mapped[int | None] = mapped_column(Integer)
    autopilot_summary_model: Mapped[str | None] = mapped_column(String(128))
    autopilot_turns: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    autopilot_tokens_used: Mapped[int] = mapped_column(
        BigInteger, default=0, server_default=text("0")
    )
    autopilot_stopped_reason: Mapped[str | None] = mapped_column(String(32))


class Persona(Base):
    """An AI participant of one room; `position` orders a room's personas."""

    __tablename__ = "personas"

    room_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True
    )
    # Part of the primary key: a handle names one persona within its room.
    handle: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(128))
    system_prompt: Mapped[str] = mapped_column(Text)
    temperature: Mapped[float] = mapped_column(Float)
    max_tokens: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    talkativeness: Mapped[float] = mapped_column(Float, default=0.5, server_default=text("0.5"))
    muted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    voice: Mapped[str] = mapped_column(String(128), default="", server_default=text("''"))
    voice_rate: Mapped[float] = mapped_column(Float, default=1.0, server_default=text("1.0"))


class Message(Base):
    """A message, numbered densely per room by `seq`; AI replies also carry usage and timing."""

    __tablename__ = "messages"
    __table_args__ = (
        # Also the index that keyset pagination walks.
        UniqueConstraint("room_id", "seq"),
        # Idempotent posting; rows without a client_msg_id never collide (NULLs are distinct).
        UniqueConstraint("room_id", "author_id", "client_msg_id"),
        CheckConstraint("author_kind IN ('human', 'ai', 'system')", name="author_kind"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(36), ForeignKey("rooms.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger)
    author_id: Mapped[str] = mapped_column(String(64))
    author_name: Mapped[str] = mapped_column(String(200))
    author_kind: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    reply_to: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(
        String(16), default="complete", server_default=text("'complete'")
    )
    client_msg_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # AI replies only: the persona that wrote it, the model that answered, and how it went.
    author_handle: Mapped[str | None] = mapped_column(String(32))
    model: Mapped[str | None] = mapped_column(String(128))
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    ttft_ms: Mapped[int | None] = mapped_column(BigInteger)
    total_ms: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    # Spoken replies only (speech_voice NULL: none); the audio itself is in the media store.
    speech_voice: Mapped[str | None] = mapped_column(String(128))
    speech_sentences: Mapped[int | None] = mapped_column(Integer)
    speech_final: Mapped[bool | None] = mapped_column(Boolean)
    speech_error: Mapped[str | None] = mapped_column(Text)
    speech_sample_rate: Mapped[int | None] = mapped_column(Integer)


class RoomSummary(Base):
    """A room's rolling summary: every message with seq <= `upto_seq`, folded into `text`."""

    __tablename__ = "room_summaries"

    room_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True
    )
    text: Mapped[str] = mapped_column(Text)
    upto_seq: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Account(Base):
    """A registered user (username + argon2id password hash) or a guest (display name only)."""

    __tablename__ = "accounts"
    __table_args__ = (CheckConstraint("kind IN ('user', 'guest')", name="kind"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # Lower-cased; NULL for guests (NULLs never collide on the unique index).
    username: Mapped[str | None] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Credential(Base):
    """A sign-in session or a personal API token; only the SHA-256 of its secret is stored."""

    __tablename__ = "credentials"
    __table_args__ = (CheckConstraint("kind IN ('session', 'api_token')", name="kind"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(64))  # API tokens only
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # NULL = never
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RoomMember(Base):
    """An account's role in a room: "owner", "member" or "viewer"."""

    __tablename__ = "room_members"
    __table_args__ = (CheckConstraint("role IN ('owner', 'member', 'viewer')", name="role"),)

    room_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RoomRemoval(Base):
    """An account an owner removed from a room: an open room lets it back only by an invite."""

    __tablename__ = "room_removals"

    room_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    removed_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Invite(Base):
    """A link that makes whoever accepts it a member (or viewer) of a room."""

    __tablename__ = "invites"
    __table_args__ = (CheckConstraint("role IN ('member', 'viewer')", name="role"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    room_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("rooms.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(36))
    role: Mapped[str] = mapped_column(String(8))
    max_uses: Mapped[int | None] = mapped_column(Integer)  # NULL = unlimited
    uses: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # NULL = never
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AiUsage(Base):
    """AI tokens spent per UTC day, by the account that asked ("user") and by room ("room")."""

    __tablename__ = "ai_usage"
    __table_args__ = (CheckConstraint("scope IN ('user', 'room')", name="scope"),)

    scope: Mapped[str] = mapped_column(String(8), primary_key=True)
    scope_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD, UTC
    tokens: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))


class RevocationOutbox(Base):
    """A revocation made by another process (`chimera admin`), for the room service to publish."""

    __tablename__ = "revocation_outbox"

    # A rowid alias on SQLite, so ids autoincrement there as well.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    credential_id: Mapped[str | None] = mapped_column(String(36))  # one credential, or ...
    account_id: Mapped[str | None] = mapped_column(String(36))  # ... every one of an account
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
