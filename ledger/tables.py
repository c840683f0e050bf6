"""Tables beside eventsourcing's `stored_events`. Their schema is owned by `migrations/`."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, LargeBinary, MetaData, String, Table

metadata = MetaData()

# One row per stored event, written in the same transaction as the event (see ledger.sealing).
ledger_leaves = Table(
    "ledger_leaves",
    metadata,
    Column("notification_id", BigInteger, primary_key=True, autoincrement=False),
    Column("leaf_hash", LargeBinary, nullable=False),
    Column("mac", LargeBinary, nullable=False),
    # The latest signed head when the event was written (0: none yet; NULL: before 0003).
    Column("head_id", BigInteger, nullable=True),
)

# Ed25519-signed tree heads over the leaves, oldest first.
tree_heads = Table(
    "tree_heads",
    metadata,
    Column("head_id", Integer, primary_key=True, autoincrement=True),
    Column("tree_size", BigInteger, nullable=False),
    Column("root_hash", LargeBinary, nullable=False),
    Column("timestamp_ms", BigInteger, nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("signature", LargeBinary, nullable=False),
)

# The key vault: artist data keys, wrapped by the master key. The only rows the museum deletes.
artist_keys = Table(
    "artist_keys",
    metadata,
    Column("artist_id", String(32), primary_key=True),
    Column("wrapped_key", LargeBinary, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
)
