"""Personas of a room, and AI reply fields on messages.

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The columns messages gain; all nullable, so existing rows need no backfill.
REPLY_COLUMNS = (
    ("author_handle", sa.String(length=32)),
    ("model", sa.String(length=128)),
    ("prompt_tokens", sa.Integer()),
    ("completion_tokens", sa.Integer()),
    ("ttft_ms", sa.BigInteger()),
    ("total_ms", sa.BigInteger()),
    ("error", sa.Text()),
)


def upgrade() -> None:
    op.create_table(
        "personas",
        sa.Column("room_id", sa.String(length=36), nullable=False),
        sa.Column("handle", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("system_prompt", sa.Text(), nullable=False),
        sa.Column("temperature", sa.Float(), nullable=False),
        sa.Column("max_tokens", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name="fk_personas_room_id_rooms", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("room_id", "handle", name="pk_personas"),
    )
    # Adding nullable columns is a plain ALTER TABLE on both databases; batch mode keeps the
    # SQLite path uniform with the downgrade, which has to rebuild the table there.
    with op.batch_alter_table("messages") as batch_op:
        for name, type_ in REPLY_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch_op:
        for name, _ in reversed(REPLY_COLUMNS):
            batch_op.drop_column(name)
    op.drop_table("personas")
