"""Tables beside eventsourcing's `stored_events`. Their schema is owned by `migrations/`."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
)

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

# Witness cosignatures of the log's checkpoints, by tree size (migration 0008).
checkpoint_cosignatures = Table(
    "checkpoint_cosignatures",
    metadata,
    Column("tree_size", BigInteger, primary_key=True, autoincrement=False),
    Column("witness", String(255), primary_key=True),
    Column("key_id", LargeBinary, primary_key=True),
    Column("root_hash", LargeBinary, nullable=False),
    Column("signature", LargeBinary, nullable=False),  # timestamp (8 bytes) + Ed25519 signature
    Column("received_at_ms", BigInteger, nullable=False),
)

# The key vault: artist data keys, wrapped by the master key. The only rows the museum deletes.
artist_keys = Table(
    "artist_keys",
    metadata,
    Column("artist_id", String(32), primary_key=True),
    Column("wrapped_key", LargeBinary, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
)

# --- read models: projections of the events, rebuilt from them at will (migration 0005) ------
# Times are microseconds since 1970 (the events' own precision); `*_seq` and `notification_id`
# are notification ids, the listing order.

# One row per (donation, purpose): whether consent holds, since when, by which event.
consent_status = Table(
    "consent_status",
    metadata,
    Column("donation_id", String(36), primary_key=True),
    Column("purpose", String(16), primary_key=True),
    Column("artist_id", String(36), nullable=False),
    Column("donation_seq", BigInteger, nullable=False),  # the donation's DonationMade
    Column("granted", Boolean, nullable=False),
    Column("withdrawn", Boolean, nullable=False),
    Column("since_us", BigInteger, nullable=False),
    Column("notification_id", BigInteger, nullable=False),  # the last change
    Index("ix_consent_status_order", "donation_seq", "purpose"),
    Index("ix_consent_status_artist", "artist_id", "donation_seq", "purpose"),
)

# One row per (attribution, artist): the artist's share of one generated image's credit.
artist_credits = Table(
    "artist_credits",
    metadata,
    Column("attribution_id", String(36), primary_key=True),
    Column("artist_id", String(36), primary_key=True),
    Column("generation_id", String(36), nullable=False),
    Column("model_version", String(36), nullable=False),
    Column("method", String(64), nullable=False),
    Column("share_ppm", Integer, nullable=False),
    Column("recorded_us", BigInteger, nullable=False),
    Column("notification_id", BigInteger, nullable=False),
    Index("ix_artist_credits_order", "notification_id", "artist_id"),
    Index("ix_artist_credits_artist", "artist_id", "notification_id"),
)

# One row per artist, without any sealed text: the pseudonym is opened from the ledger.
artist_directory = Table(
    "artist_directory",
    metadata,
    Column("artist_id", String(36), primary_key=True),
    Column("seq", BigInteger, nullable=False, unique=True),  # the ArtistRegistered event
    Column("founding", Boolean, nullable=False),
    Column("founding_number", Integer, nullable=True),
    Column("anonymous", Boolean, nullable=False),
    Column("donations", Integer, nullable=False),
    Column("erased", Boolean, nullable=False),
    Column("registered_us", BigInteger, nullable=False),
)

# Every generation of the museum's keys once it has been rotated (migration 0009); none before.
# Earlier generations' MAC and index keys are wrapped by the current master key (NULL for the
# current one, derived from it); public keys are in clear; a rotation's statement is signed by
# the outgoing key (`old_signature`) and the incoming one (`new_signature`).
key_ring = Table(
    "key_ring",
    metadata,
    Column("generation", Integer, primary_key=True, autoincrement=False),
    Column("key_id", String(32), nullable=False, unique=True),
    Column("public_key", LargeBinary, nullable=False),
    Column("first_notification_id", BigInteger, nullable=False),
    Column("leaf_mac_key_wrapped", LargeBinary, nullable=True),
    Column("index_key_wrapped", LargeBinary, nullable=True),
    Column("rotated_at_ms", BigInteger, nullable=True),
    Column("statement", LargeBinary, nullable=True),
    Column("old_signature", LargeBinary, nullable=True),
    Column("new_signature", LargeBinary, nullable=True),
)

# When a check of the whole ledger last passed (`museum ledger verify`): the verify-age metric.
ledger_checks = Table(
    "ledger_checks",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("checked_at_ms", BigInteger, nullable=False),
    Column("events", BigInteger, nullable=False),
)
