"""Royalty postings: the double-entry read model projected from revenue and payout events.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "royalty_postings",
        sa.Column("notification_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("line", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("txn_id", sa.String(48), nullable=False),
        sa.Column("txn_kind", sa.String(24), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("share_ppm", sa.Integer, nullable=True),
        sa.Column("generation_id", sa.String(36), nullable=True),
        sa.Column("source_id", sa.String(36), nullable=False),
        sa.Column("gross", sa.BigInteger, nullable=True),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ix_royalty_postings_account_time", "royalty_postings", ["account", "currency", "at_ms"]
    )
    op.create_table(
        "royalty_projection",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(
        sa.table(
            "royalty_projection", sa.column("name", sa.String), sa.column("position", sa.BigInteger)
        ),
        [{"name": "royalty_postings", "position": 0}],
    )


def downgrade() -> None:
    op.drop_table("royalty_projection")
    op.drop_index("ix_royalty_postings_account_time", table_name="royalty_postings")
    op.drop_table("royalty_postings")
