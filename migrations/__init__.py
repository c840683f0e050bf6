"""Schema of the tables beside the event store, applied with Alembic (`ledger.store.migrate`)."""
