"""Leaves of the verifiable log, written in the same transaction as the events they cover.

eventsourcing lets an application choose its recorder class; ours adds, for every stored event,
a leaf hash over the record exactly as stored and an HMAC of it. A row appended to the events
table by anyone but the ledger therefore has no valid leaf, and `museum ledger verify` names it.
"""

from __future__ import annotations

import hmac
import struct
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from psycopg.sql import SQL, Identifier

from ledger.errors import ConfigurationError
from ledger.merkle import leaf_hash

LEAF_FORMAT = b"failure-museum-leaf/v1"
# MAC input of leaves that attest a head (migration 0003); older leaves keep the bare formula.
LEAF_MAC_V2 = b"failure-museum-leaf-mac/v2"
LATEST_HEAD_SQL = "SELECT COALESCE(MAX(head_id), 0) AS head_id FROM tree_heads"


def originator_text(originator_id: UUID | str) -> str:
    return originator_id.hex if isinstance(originator_id, UUID) else str(originator_id)


def record_bytes(
    notification_id: int,
    originator_id: UUID | str,
    originator_version: int,
    topic: str,
    state: bytes | str,
) -> bytes:
    """Canonical, length-prefixed bytes of one stored record: the leaf's preimage.

    A state that comes back as text (a tampered SQLite column) is hashed as its UTF-8 bytes, so
    the mismatch is reported as a changed record rather than crashing the audit.
    """
    oid = originator_text(originator_id).encode()
    topic_bytes = str(topic).encode()
    state = state.encode() if isinstance(state, str) else bytes(state)
    return b"".join(
        (
            LEAF_FORMAT,
            struct.pack(">QQ", notification_id, originator_version),
            struct.pack(">H", len(oid)),
            oid,
            struct.pack(">I", len(topic_bytes)),
            topic_bytes,
            struct.pack(">I", len(state)),
            state,
        )
    )


def record_leaf(
    notification_id: int,
    originator_id: UUID | str,
    originator_version: int,
    topic: str,
    state: bytes | str,
) -> bytes:
    return leaf_hash(record_bytes(notification_id, originator_id, originator_version, topic, state))


class LeafSealer:
    """Computes leaves and their MACs; the MAC key never leaves the process."""

    def __init__(self, mac_key: bytes) -> None:
        self._mac_key = mac_key

    def mac(self, notification_id: int, leaf: bytes, head_id: int | None = None) -> bytes:
        """HMAC of the leaf; with `head_id` (0003 and later) the attested head is covered too.

        The two inputs differ in prefix and length, so a new leaf whose head column is NULLed
        fails its MAC instead of passing as an old one.
        """
        if head_id is None:
            message = struct.pack(">Q", notification_id) + leaf
        else:
            message = LEAF_MAC_V2 + struct.pack(">QQ", notification_id, head_id) + leaf
        return hmac.digest(self._mac_key, message, "sha256")

    def check(
        self, notification_id: int, leaf: bytes, mac: bytes, head_id: int | None = None
    ) -> bool:
        return hmac.compare_digest(self.mac(notification_id, leaf, head_id), mac)

    def rows(
        self, ids: Sequence[int], events: Sequence[StoredEvent], head_id: int
    ) -> list[tuple[int, bytes, bytes, int]]:
        if len(ids) != len(events):
            raise ConfigurationError("the recorder returned a different number of notification ids")
        rows = []
        for nid, stored in zip(ids, events, strict=True):
            leaf = record_leaf(
                nid, stored.originator_id, stored.originator_version, stored.topic, stored.state
            )
            rows.append((nid, leaf, self.mac(nid, leaf, head_id), head_id))
        return rows


class _SealingMixin:
    sealer: LeafSealer | None = None

    def _sealer(self) -> LeafSealer:
        if self.sealer is None:
            raise ConfigurationError(
                "the ledger recorder has no leaf sealer; open it with ledger.runtime"
            )
        return self.sealer


class SealedSQLiteApplicationRecorder(_SealingMixin, SQLiteApplicationRecorder):
    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        c.execute(LATEST_HEAD_SQL)
        head_id = int(c.fetchone()[0])
        c.executemany(
            "INSERT INTO ledger_leaves (notification_id, leaf_hash, mac, head_id) "
            "VALUES (?, ?, ?, ?)",
            self._sealer().rows(list(ids or []), stored_events, head_id),
        )
        return ids


class SealedPostgresApplicationRecorder(_SealingMixin, PostgresApplicationRecorder):
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if self.datastore.enable_db_functions:
            raise ConfigurationError(
                "POSTGRES_ENABLE_DB_FUNCTIONS would bypass the ledger's leaves"
            )
        ids: Sequence[int] | None = super().insert_events(stored_events, **kwargs)
        return ids

    def _insert_stored_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        """Same lock and NOTIFY as eventsourcing, but a plain parametrised multi-row INSERT.

        eventsourcing sends events as an array of a composite type, which psycopg renders as
        escaped text; plain parameters send the state as binary bytea instead.
        """
        self._lock_table(curs)
        self._notify_channel(curs)
        rows = SQL(", ").join([SQL("(%s, %s, %s, %s)")] * len(stored_events))
        statement = SQL(
            "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) "
            "VALUES {rows} RETURNING notification_id"
        ).format(
            schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name),
            rows=rows,
        )
        params: list[Any] = []
        for stored in stored_events:
            params += [stored.originator_id, stored.originator_version, stored.topic, stored.state]
        curs.execute(statement, params, prepare=len(stored_events) <= 4)

    def _fetch_ids_after_insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids: Sequence[int] | None = super()._fetch_ids_after_insert_events(
            curs, stored_events, **kwargs
        )
        # Read under the events-table lock, so attested heads never go backwards along the log.
        curs.execute(LATEST_HEAD_SQL)
        head_id = int(curs.fetchone()["head_id"])  # eventsourcing's cursors return dict rows
        # Sync at once, inside eventsourcing's try: a rejected leaf then raises IntegrityError
        # here, not a bare "pipeline aborted" from the commit later (seen under load).
        with curs.connection.pipeline() as pipeline:
            curs.executemany(
                "INSERT INTO ledger_leaves (notification_id, leaf_hash, mac, head_id) "
                "VALUES (%s, %s, %s, %s)",
                self._sealer().rows(list(ids or []), stored_events, head_id),
            )
            pipeline.sync()
        return ids
