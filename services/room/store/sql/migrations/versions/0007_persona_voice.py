"""Persona voices: the TTS node's voice a persona speaks with, and its rate.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("personas") as batch:
        batch.add_column(
            sa.Column("voice", sa.String(length=128), server_default=sa.text("''"), nullable=False)
        )
        batch.add_column(
            sa.Column("voice_rate", sa.Float(), server_default=sa.text("1.0"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("personas") as batch:
        batch.drop_column("voice_rate")
        batch.drop_column("voice")
