"""The revocation outbox: what `chimera admin` revokes, for the running room service to publish.

Revision ID: 0005
Revises: 0004
Create Date: 2025-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "revocation_outbox",
        # INTEGER PRIMARY KEY on SQLite (a rowid alias, so it autoincrements), BIGSERIAL elsewhere.
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("credential_id", sa.String(length=36), nullable=True),
        sa.Column("account_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_revocation_outbox"),
    )
    op.create_index(
        "ix_revocation_outbox_created_at", "revocation_outbox", ["created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_revocation_outbox_created_at", table_name="revocation_outbox")
    op.drop_table("revocation_outbox")
