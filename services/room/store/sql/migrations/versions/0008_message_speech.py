"""Message speech: how a spoken reply's speech went (its audio is in the media store).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("speech_voice", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("speech_sentences", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("speech_final", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("speech_error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("speech_sample_rate", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("speech_sample_rate")
        batch.drop_column("speech_error")
        batch.drop_column("speech_final")
        batch.drop_column("speech_sentences")
        batch.drop_column("speech_voice")
