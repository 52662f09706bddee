"""Accounts, credentials, room members and roles, invites, room access and AI usage.

Rooms created before accounts existed were readable by anyone signed in; they stay that
way ("open", guests allowed). Rooms created from now on default to "invite".

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Plain ADD COLUMN: batch mode would rebuild `rooms` on SQLite, and dropping the old table
    # cascades to its messages.
    op.add_column(
        "rooms", sa.Column("access", sa.String(length=8), server_default="invite", nullable=False)
    )
    op.add_column(
        "rooms",
        sa.Column("allow_guests", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.execute("UPDATE rooms SET access = 'open', allow_guests = true")
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("username", sa.String(length=32), nullable=True),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("admin", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("disabled", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.CheckConstraint("kind IN ('user', 'guest')", name="ck_accounts_kind"),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
        sa.UniqueConstraint("username", name="uq_accounts_username"),
    )
    op.create_table(
        "credentials",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=True),
        sa.Column("last_used_at", _TS, nullable=True),
        sa.CheckConstraint("kind IN ('session', 'api_token')", name="ck_credentials_kind"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name="fk_credentials_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_credentials"),
        sa.UniqueConstraint("token_hash", name="uq_credentials_token_hash"),
    )
    op.create_index("ix_credentials_account_id", "credentials", ["account_id"])
    op.create_table(
        "room_members",
        sa.Column("room_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.CheckConstraint("role IN ('owner', 'member', 'viewer')", name="ck_room_members_role"),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name="fk_room_members_room_id_rooms", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name="fk_room_members_account_id_accounts",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("room_id", "account_id", name="pk_room_members"),
    )
    op.create_index("ix_room_members_account_id", "room_members", ["account_id"])
    op.create_table(
        "invites",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("room_id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=True),
        sa.Column("revoked_at", _TS, nullable=True),
        sa.CheckConstraint("role IN ('member', 'viewer')", name="ck_invites_role"),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name="fk_invites_room_id_rooms", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_invites"),
        sa.UniqueConstraint("token_hash", name="uq_invites_token_hash"),
    )
    op.create_index("ix_invites_room_id", "invites", ["room_id"])
    op.create_table(
        "ai_usage",
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("scope_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("tokens", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.CheckConstraint("scope IN ('user', 'room')", name="ck_ai_usage_scope"),
        sa.PrimaryKeyConstraint("scope", "scope_id", "day", name="pk_ai_usage"),
    )


def downgrade() -> None:
    op.drop_table("ai_usage")
    op.drop_index("ix_invites_room_id", table_name="invites")
    op.drop_table("invites")
    op.drop_index("ix_room_members_account_id", table_name="room_members")
    op.drop_table("room_members")
    op.drop_index("ix_credentials_account_id", table_name="credentials")
    op.drop_table("credentials")
    op.drop_table("accounts")
    # Plain DROP COLUMN (SQLite >= 3.35), for the same reason as in upgrade.
    op.drop_column("rooms", "allow_guests")
    op.drop_column("rooms", "access")
