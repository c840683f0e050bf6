"""One-time sign-in links of the pages: the token only as its SHA-256 digest, the key it stands
for, when it expires and when it was used (a link works once).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_links",
        sa.Column("token_sha256", sa.LargeBinary, primary_key=True),
        sa.Column("key_id", sa.String(24), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
        sa.Column("expires_at_ms", sa.BigInteger, nullable=False),
        sa.Column("used_at_ms", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_sign_in_links_key", "sign_in_links", ["key_id"])
    op.create_index("ix_sign_in_links_expiry", "sign_in_links", ["expires_at_ms"])


def downgrade() -> None:
    op.drop_index("ix_sign_in_links_expiry", table_name="sign_in_links")
    op.drop_index("ix_sign_in_links_key", table_name="sign_in_links")
    op.drop_table("sign_in_links")
