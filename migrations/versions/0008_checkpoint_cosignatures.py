"""Witness cosignatures the museum collected for its checkpoints (c2sp.org/tlog-witness): one
row per tree size and witness key, the signature line as the witness returned it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "checkpoint_cosignatures",
        sa.Column("tree_size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("witness", sa.String(255), primary_key=True),
        sa.Column("key_id", sa.LargeBinary, primary_key=True),
        sa.Column("root_hash", sa.LargeBinary, nullable=False),
        sa.Column("signature", sa.LargeBinary, nullable=False),
        sa.Column("received_at_ms", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("checkpoint_cosignatures")
