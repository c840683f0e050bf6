"""Read models the service lists: consent status, credits per artist, the artist directory.

Each is a projection of the events with its own eventsourcing single-row tracking table, laid
out and named as 0004's (`<projection>_tracking`, with the library's `__migration__` marker).
The tables start empty at position 0: the first read catches each up from the whole log, so an
existing ledger gets them filled from its past events. No sealed text is copied into them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

PROJECTIONS = ("consent_status", "artist_credits", "artist_directory")
MIGRATION_MARKER = "__migration__"


def _tracking_table(name: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            f"CREATE TABLE {name} (application_name TEXT, notification_id INTEGER, "
            "PRIMARY KEY (application_name)) WITHOUT ROWID"
        )
    else:
        op.execute(
            f"CREATE TABLE {name} (application_name text, notification_id bigint, "
            "PRIMARY KEY (application_name))"
        )
    op.bulk_insert(
        sa.table(name, sa.column("application_name", sa.Text), sa.column("notification_id")),
        [{"application_name": MIGRATION_MARKER, "notification_id": 1}],
    )


def upgrade() -> None:
    op.create_table(
        "consent_status",
        sa.Column("donation_id", sa.String(36), primary_key=True),
        sa.Column("purpose", sa.String(16), primary_key=True),
        sa.Column("artist_id", sa.String(36), nullable=False),
        sa.Column("donation_seq", sa.BigInteger, nullable=False),
        sa.Column("granted", sa.Boolean, nullable=False),
        sa.Column("withdrawn", sa.Boolean, nullable=False),
        sa.Column("since_us", sa.BigInteger, nullable=False),
        sa.Column("notification_id", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_consent_status_order", "consent_status", ["donation_seq", "purpose"])
    op.create_index(
        "ix_consent_status_artist", "consent_status", ["artist_id", "donation_seq", "purpose"]
    )
    op.create_table(
        "artist_credits",
        sa.Column("attribution_id", sa.String(36), primary_key=True),
        sa.Column("artist_id", sa.String(36), primary_key=True),
        sa.Column("generation_id", sa.String(36), nullable=False),
        sa.Column("model_version", sa.String(36), nullable=False),
        sa.Column("method", sa.String(64), nullable=False),
        sa.Column("share_ppm", sa.Integer, nullable=False),
        sa.Column("recorded_us", sa.BigInteger, nullable=False),
        sa.Column("notification_id", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_artist_credits_order", "artist_credits", ["notification_id", "artist_id"])
    op.create_index("ix_artist_credits_artist", "artist_credits", ["artist_id", "notification_id"])
    op.create_table(
        "artist_directory",
        sa.Column("artist_id", sa.String(36), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False, unique=True),
        sa.Column("founding", sa.Boolean, nullable=False),
        sa.Column("founding_number", sa.Integer, nullable=True),
        sa.Column("anonymous", sa.Boolean, nullable=False),
        sa.Column("donations", sa.Integer, nullable=False),
        sa.Column("erased", sa.Boolean, nullable=False),
        sa.Column("registered_us", sa.BigInteger, nullable=False),
    )
    for name in PROJECTIONS:
        _tracking_table(f"{name}_tracking")


def downgrade() -> None:
    for name in PROJECTIONS:
        op.drop_table(f"{name}_tracking")
    op.drop_index("ix_artist_credits_artist", table_name="artist_credits")
    op.drop_index("ix_artist_credits_order", table_name="artist_credits")
    op.drop_index("ix_consent_status_artist", table_name="consent_status")
    op.drop_index("ix_consent_status_order", table_name="consent_status")
    op.drop_table("artist_directory")
    op.drop_table("artist_credits")
    op.drop_table("consent_status")
