"""Autopilot settings and state on rooms, talkativeness and mute on personas, room summaries.

Revision ID: 0004
Revises: 0003
Create Date: 2025-11-24
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every new column either has a server default or is nullable, so existing rows need no backfill.
ROOM_COLUMNS: tuple[sa.Column[Any], ...] = (
    sa.Column("autopilot_enabled", sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column(
        "autopilot_strategy",
        sa.String(length=16),
        server_default=sa.text("'natural'"),
        nullable=False,
    ),
    sa.Column("autopilot_max_turns", sa.Integer(), nullable=True),
    sa.Column("autopilot_token_budget", sa.BigInteger(), nullable=True),
    sa.Column("autopilot_idle_timeout_s", sa.Integer(), nullable=True),
    sa.Column("autopilot_summary_model", sa.String(length=128), nullable=True),
    sa.Column("autopilot_turns", sa.Integer(), server_default=sa.text("0"), nullable=False),
    sa.Column(
        "autopilot_tokens_used", sa.BigInteger(), server_default=sa.text("0"), nullable=False
    ),
    sa.Column("autopilot_stopped_reason", sa.String(length=32), nullable=True),
)
PERSONA_COLUMNS: tuple[sa.Column[Any], ...] = (
    sa.Column("talkativeness", sa.Float(), server_default=sa.text("0.5"), nullable=False),
    sa.Column("muted", sa.Boolean(), server_default=sa.false(), nullable=False),
)


def upgrade() -> None:
    # Plain ALTER TABLE, also on SQLite (DROP COLUMN needs 3.35): batch mode would rebuild `rooms`,
    # and dropping the old table cascades to its messages (as in 0003).
    for column in ROOM_COLUMNS:
        op.add_column("rooms", column)
    for column in PERSONA_COLUMNS:
        op.add_column("personas", column)
    op.create_table(
        "room_summaries",
        sa.Column("room_id", sa.String(length=36), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("upto_seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name="fk_room_summaries_room_id_rooms", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("room_id", name="pk_room_summaries"),
    )


def downgrade() -> None:
    op.drop_table("room_summaries")
    for column in reversed(PERSONA_COLUMNS):
        op.drop_column("personas", column.name)
    for column in reversed(ROOM_COLUMNS):
        op.drop_column("rooms", column.name)
