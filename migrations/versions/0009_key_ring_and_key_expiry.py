"""The key ring (every generation of the museum's keys, for `museum keys rotate-master`), an
expiry time on API keys (a key rotated with overlap keeps working until then), and when the
ledger was last verified whole (the `verify age` metric).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "key_ring",
        sa.Column("generation", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("key_id", sa.String(32), nullable=False, unique=True),
        sa.Column("public_key", sa.LargeBinary, nullable=False),
        sa.Column("first_notification_id", sa.BigInteger, nullable=False),
        sa.Column("leaf_mac_key_wrapped", sa.LargeBinary, nullable=True),
        sa.Column("index_key_wrapped", sa.LargeBinary, nullable=True),
        sa.Column("rotated_at_ms", sa.BigInteger, nullable=True),
        sa.Column("statement", sa.LargeBinary, nullable=True),
        sa.Column("old_signature", sa.LargeBinary, nullable=True),
        sa.Column("new_signature", sa.LargeBinary, nullable=True),
    )
    op.create_table(
        "ledger_checks",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("checked_at_ms", sa.BigInteger, nullable=False),
        sa.Column("events", sa.BigInteger, nullable=False),
    )
    op.add_column("api_keys", sa.Column("expires_at_ms", sa.BigInteger, nullable=True))
    op.add_column("api_keys", sa.Column("replaced_by", sa.String(24), nullable=True))


def downgrade() -> None:
    op.drop_column("api_keys", "replaced_by")
    op.drop_column("api_keys", "expires_at_ms")
    op.drop_table("ledger_checks")
    op.drop_table("key_ring")
