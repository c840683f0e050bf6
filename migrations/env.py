"""Alembic environment: runs on the connection that `ledger.store.migrate` hands over."""

from __future__ import annotations

from alembic import context

from ledger.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through ledger.store.migrate, which supplies a connection")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
