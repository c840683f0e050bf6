"""API keys of the HTTP service: one row per key, the secret only as its SHA-256 digest.

Revoked keys stay (with their revocation time): the table is the record of who could call.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(24), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("artist_id", sa.String(32), nullable=True),
        sa.Column("secret_sha256", sa.LargeBinary, nullable=False),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
        sa.Column("revoked_at_ms", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_api_keys_artist", "api_keys", ["artist_id"])


def downgrade() -> None:
    op.drop_index("ix_api_keys_artist", table_name="api_keys")
    op.drop_table("api_keys")
