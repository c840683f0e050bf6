"""Leaves of the verifiable log, written in the same transaction as the events they cover.

eventsourcing lets an application choose its recorder class; ours adds, for every stored event,
a leaf hash over the record exactly as stored and an HMAC of it. A row appended to the events
table by anyone but the ledger therefore has no valid leaf, and `museum ledger verify` names it.
"""

from __future__ import annotations

import bisect
import hmac
import struct
from collections.abc import Sequence
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor
from psycopg.sql import SQL, Identifier

from ledger.errors import ConfigurationError, Conflict
from ledger.merkle import leaf_hash

LEAF_FORMAT = b"failure-museum-leaf/v1"
# MAC input of leaves that attest a head (migration 0003); older leaves keep the bare formula.
LEAF_MAC_V2 = b"failure-museum-leaf-mac/v2"
# Read under the events-table lock with it: the key generation a new leaf must be sealed under.
LOG_STATE_SQL = (
    "SELECT (SELECT COALESCE(MAX(head_id), 0) FROM tree_heads) AS head_id, "
    "(SELECT COALESCE(MAX(generation), 0) FROM key_ring) AS generation"
)


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


class RetiredKey(ConfigurationError):
    """This process holds a master key that a rotation retired: it may write nothing more."""


class LeafSealer:
    """Computes leaves and their MACs; the MAC keys never leave the process.

    A log written across key rotations has one MAC key per generation: `earlier` holds, oldest
    first, the first notification id and MAC key of each generation before this one, whose
    own key (`mac_key`) seals every leaf from `since` on.
    """

    def __init__(
        self,
        mac_key: bytes,
        generation: int = 0,
        since: int = 0,
        earlier: Sequence[tuple[int, bytes]] = (),
    ) -> None:
        self._mac_key = mac_key
        self.generation = generation
        self._since = since
        self._starts = [first for first, _ in earlier]
        self._earlier = [key for _, key in earlier]

    def _key(self, notification_id: int) -> bytes:
        if notification_id >= self._since or not self._earlier:
            return self._mac_key
        return self._earlier[max(bisect.bisect_right(self._starts, notification_id) - 1, 0)]

    def mac(self, notification_id: int, leaf: bytes, head_id: int | None = None) -> bytes:
        """HMAC of the leaf; with `head_id` (0003 and later) the attested head is covered too.

        The two inputs differ in prefix and length, so a new leaf whose head column is NULLed
        fails its MAC instead of passing as an old one.
        """
        if head_id is None:
            message = struct.pack(">Q", notification_id) + leaf
        else:
            message = LEAF_MAC_V2 + struct.pack(">QQ", notification_id, head_id) + leaf
        return hmac.digest(self._key(notification_id), message, "sha256")

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


class KeyRotationWrite(Protocol):
    """What a master-key rotation writes in the transaction of its `KeysRotated` event."""

    from_generation: int
    sealer: LeafSealer  # the new generation's: it seals the rotation's own leaves

    def write(self, cursor: Any, placeholder: str, first_notification_id: int) -> None: ...


class _SealingMixin:
    sealer: LeafSealer | None = None

    def _sealer(self) -> LeafSealer:
        if self.sealer is None:
            raise ConfigurationError(
                "the ledger recorder has no leaf sealer; open it with ledger.runtime"
            )
        return self.sealer

    def _sealed_rows(
        self,
        cursor: Any,
        placeholder: str,
        ids: Sequence[int],
        stored_events: Sequence[StoredEvent],
        head_id: int,
        generation: int,
        rotation: KeyRotationWrite | None,
    ) -> list[tuple[int, bytes, bytes, int]]:
        """The leaf rows, after refusing a writer whose keys are not the museum's current ones
        (read under the events-table lock, so no event slips in under a retired key)."""
        sealer = self._sealer()
        if rotation is None:
            if generation != sealer.generation:
                raise RetiredKey(
                    f"this process holds the master key of key generation {sealer.generation}, "
                    f"but the museum was rotated to generation {generation}: restart it with "
                    "the new master key"
                )
            return sealer.rows(ids, stored_events, head_id)
        if generation != rotation.from_generation:
            raise Conflict(
                f"the museum is at key generation {generation}, not {rotation.from_generation}: "
                "another rotation ran meanwhile"
            )
        rotation.write(cursor, placeholder, ids[0])
        return rotation.sealer.rows(ids, stored_events, head_id)


class SealedSQLiteApplicationRecorder(_SealingMixin, SQLiteApplicationRecorder):
    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        c.execute(LOG_STATE_SQL)
        head_id, generation = (int(value) for value in c.fetchone())
        rows = self._sealed_rows(
            c, "?", list(ids or []), stored_events, head_id, generation, kwargs.get("key_rotation")
        )
        c.executemany(
            "INSERT INTO ledger_leaves (notification_id, leaf_hash, mac, head_id) "
            "VALUES (?, ?, ?, ?)",
            rows,
        )
        return ids


class SealedPostgresApplicationRecorder(_SealingMixin, PostgresApplicationRecorder):
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """eventsourcing's insert, except that any failure rolls the whole transaction back.

        eventsourcing catches what its last steps raise *inside* the transaction block (to keep
        psycopg's pipeline quiet) and re-raises it after the block has committed: a refusal
        raised in Python (a retired key, a failed rotation) would leave events without leaves.
        Here the transaction block sees the exception; the pipeline's block does not.
        """
        if self.datastore.enable_db_functions:
            raise ConfigurationError(
                "POSTGRES_ENABLE_DB_FUNCTIONS would bypass the ledger's leaves"
            )
        failure: Exception | None = None
        ids: Sequence[int] | None = None
        with self.datastore.get_connection() as conn:  # it turns psycopg's errors into ours
            with conn.pipeline() as pipeline:
                try:
                    with conn.transaction():
                        with conn.cursor() as curs:
                            self._insert_events(curs, stored_events, **kwargs)
                        if stored_events:
                            with conn.cursor() as curs:
                                self._insert_stored_events(curs, stored_events, **kwargs)
                                pipeline.sync()
                                ids = self._fetch_ids_after_insert_events(
                                    curs, stored_events, **kwargs
                                )
                except Exception as exc:  # re-raised once the pipeline has closed
                    failure = exc
            if failure is not None:
                raise failure
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
        curs.execute(LOG_STATE_SQL)
        state = curs.fetchone()  # eventsourcing's cursors return dict rows
        rows = self._sealed_rows(
            curs,
            "%s",
            list(ids or []),
            stored_events,
            int(state["head_id"]),
            int(state["generation"]),
            kwargs.get("key_rotation"),
        )
        # Sync at once, inside eventsourcing's try: a rejected leaf then raises IntegrityError
        # here, not a bare "pipeline aborted" from the commit later (seen under load).
        with curs.connection.pipeline() as pipeline:
            curs.executemany(
                "INSERT INTO ledger_leaves (notification_id, leaf_hash, mac, head_id) "
                "VALUES (%s, %s, %s, %s)",
                rows,
            )
            pipeline.sync()
        return ids
