"""The postings read model tracks its position in eventsourcing's tracking table.

`royalty_projection` (our own position row) gives way to `royalty_postings_tracking`, laid out
as eventsourcing 9.5's single-row tracking table (one row per application: the greatest
notification id projected), named as its PostgreSQL factory names a projection's table. The
position moves across in this transaction, so the rows already projected are neither lost nor
projected again. The `__migration__` row is the marker eventsourcing writes when it creates the
table itself: with it, the library's own `create_table` finds nothing to migrate.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TRACKING = "royalty_postings_tracking"
PROJECTION = "royalty_postings"
APPLICATION = "museum"  # MuseumLedger.name: the application sequence the postings follow
MIGRATION_MARKER = "__migration__"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute(
            f"CREATE TABLE {TRACKING} (application_name TEXT, notification_id INTEGER, "
            "PRIMARY KEY (application_name)) WITHOUT ROWID"
        )
    else:
        op.execute(
            f"CREATE TABLE {TRACKING} (application_name text, notification_id bigint, "
            "PRIMARY KEY (application_name))"
        )
    tracking = sa.table(
        TRACKING, sa.column("application_name", sa.Text), sa.column("notification_id")
    )
    old = sa.table("royalty_projection", sa.column("name"), sa.column("position"))
    position = bind.execute(
        sa.select(old.c.position).where(old.c.name == PROJECTION)
    ).scalar_one_or_none()
    rows = [{"application_name": MIGRATION_MARKER, "notification_id": 1}]
    if position:
        rows.append({"application_name": APPLICATION, "notification_id": int(position)})
    op.bulk_insert(tracking, rows)
    op.drop_table("royalty_projection")


def downgrade() -> None:
    op.create_table(
        "royalty_projection",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
    )
    bind = op.get_bind()
    tracking = sa.table(
        TRACKING, sa.column("application_name", sa.Text), sa.column("notification_id")
    )
    position = bind.execute(
        sa.select(tracking.c.notification_id).where(tracking.c.application_name == APPLICATION)
    ).scalar_one_or_none()
    op.bulk_insert(
        sa.table("royalty_projection", sa.column("name"), sa.column("position")),
        [{"name": PROJECTION, "position": int(position or 0)}],
    )
    op.drop_table(TRACKING)
