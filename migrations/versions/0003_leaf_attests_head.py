"""Each leaf attests the latest signed head that existed when its event was written.

A nullable column: leaves written before this revision keep NULL and their old MAC formula; every
new leaf stores the head id (0 when no head existed yet) under a MAC that covers it, so deleting
an attested head, or NULLing the column of a new leaf, no longer passes `museum ledger verify`.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_leaves") as batch:
        batch.add_column(sa.Column("head_id", sa.BigInteger, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ledger_leaves") as batch:
        batch.drop_column("head_id")
