"""SQL access to the tables beside the event store: key vault, leaves and signed heads."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from ledger.crypto import MasterKey, SealBroken
from ledger.errors import ConfigurationError
from ledger.key_ring import INDEX_PURPOSE, MAC_PURPOSE, KeyGeneration, KeyRing, wrap_context
from ledger.sealing import RetiredKey
from ledger.tables import artist_keys, key_ring, ledger_leaves, tree_heads

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            # Deleted key-vault rows are overwritten with zeros, not left in free pages.
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    # A server that does not answer is reported in seconds, not after the TCP timeout.
    return sa.create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision in one transaction.

    Run it through `ledger.bootstrap.prepare_schema`, which holds the schema lock: two
    processes upgrading at once race on PostgreSQL's catalogue.
    """
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class KeyVault:
    """Wrapped artist data keys. Destroying a row is the act of crypto-shredding."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def put(self, artist_id: UUID, wrapped: bytes) -> None:
        with self.engine.begin() as c:
            c.execute(
                artist_keys.insert().values(
                    artist_id=artist_id.hex,
                    wrapped_key=wrapped,
                    created_at_ms=int(time.time() * 1000),
                )
            )

    def get(self, artist_id: UUID) -> bytes | None:
        with self.engine.connect() as c:
            row = c.execute(
                sa.select(artist_keys.c.wrapped_key).where(artist_keys.c.artist_id == artist_id.hex)
            ).first()
        return None if row is None else bytes(row[0])

    def destroy(self, artist_id: UUID) -> bool:
        """Delete the wrapped key and scrub what the database engine keeps of it."""
        with self.engine.begin() as c:
            deleted = c.execute(
                artist_keys.delete().where(artist_keys.c.artist_id == artist_id.hex)
            ).rowcount
        self.scrub()
        return bool(deleted)

    def scrub(self) -> None:
        """Overwrite what the database keeps of wrapped keys no longer stored (deleted, or
        re-wrapped by a rotation): SQLite's WAL is checkpointed, PostgreSQL's tables vacuumed."""
        if self.engine.dialect.name == "sqlite":
            with self.engine.connect() as c:
                c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.exec_driver_sql("VACUUM artist_keys, key_ring")


class KeyRingTable:
    """The key ring as stored; opening it with a master key also checks that key is current."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def rows(self) -> list[dict[str, Any]]:
        with self.engine.connect() as c:
            rows = c.execute(sa.select(key_ring).order_by(key_ring.c.generation)).mappings().all()
        return [dict(r) for r in rows]

    def load(self, master: MasterKey) -> KeyRing:
        """The ring opened with `master`; a retired or unknown master key is refused."""
        rows = self.rows()
        if not rows:
            return KeyRing.single(master)
        current = rows[-1]
        if current["key_id"] != master.key_id:
            retired = next((r for r in rows if r["key_id"] == master.key_id), None)
            if retired is not None:
                raise RetiredKey(
                    f"this master key (generation {retired['generation']}, key {master.key_id}) "
                    f"was retired by a rotation to generation {current['generation']}: the "
                    "museum opens only with the key it was rotated to"
                )
            raise ConfigurationError(
                f"this master key (key {master.key_id}) does not open this museum, whose "
                f"current key is {current['key_id']}"
            )
        generations = []
        for row in rows[:-1]:
            number = int(row["generation"])
            try:
                mac = master.unwrap_secret(
                    bytes(row["leaf_mac_key_wrapped"]), wrap_context(number, MAC_PURPOSE)
                )
                index = master.unwrap_secret(
                    bytes(row["index_key_wrapped"]), wrap_context(number, INDEX_PURPOSE)
                )
            except (SealBroken, TypeError):
                raise ConfigurationError(
                    f"the keys of key generation {number} do not open under the current master "
                    "key: the key ring was changed outside a rotation"
                ) from None
            generations.append(_generation(row, mac, index))
        generations.append(_generation(current, master.leaf_mac_key, master.index_key))
        return KeyRing(generations)


def _generation(row: dict[str, Any], mac: bytes, index: bytes) -> KeyGeneration:
    def optional(name: str) -> bytes | None:
        return None if row[name] is None else bytes(row[name])

    return KeyGeneration(
        int(row["generation"]),
        str(row["key_id"]),
        bytes(row["public_key"]),
        int(row["first_notification_id"]),
        mac,
        index,
        None if row["rotated_at_ms"] is None else int(row["rotated_at_ms"]),
        optional("statement"),
        optional("old_signature"),
        optional("new_signature"),
    )


# notification id, leaf hash, MAC, attested head id (None: a leaf written before migration 0003)
Leaf = tuple[int, bytes, bytes, int | None]


class LeafTable:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def after(self, notification_id: int, limit: int) -> list[Leaf]:
        with self.engine.connect() as c:
            rows = c.execute(
                sa.select(
                    ledger_leaves.c.notification_id,
                    ledger_leaves.c.leaf_hash,
                    ledger_leaves.c.mac,
                    ledger_leaves.c.head_id,
                )
                .where(ledger_leaves.c.notification_id > notification_id)
                .order_by(ledger_leaves.c.notification_id)
                .limit(limit)
            ).all()
        return [
            (int(r[0]), bytes(r[1]), bytes(r[2]), None if r[3] is None else int(r[3])) for r in rows
        ]

    def iterate_after(self, last: int = -1, batch: int = 20_000) -> Iterator[Leaf]:
        while rows := self.after(last, batch):
            yield from rows
            last = rows[-1][0]


class HeadTable:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(
        self, tree_size: int, root_hash: bytes, timestamp_ms: int, key_id: str, signature: bytes
    ) -> int | None:
        """Append a head; None (nothing written) when a larger one was stored meanwhile.

        Heads therefore never shrink along their sequence, which `verify` relies on.
        """
        # One INSERT … SELECT … WHERE NOT EXISTS: the check and the write are one statement, so
        # on SQLite (whose driver opens no transaction for a bare SELECT) another process
        # cannot slip a larger head in between them; PostgreSQL also locks the table.
        larger = sa.exists().where(tree_heads.c.tree_size > tree_size)
        row = sa.select(
            sa.literal(tree_size, sa.BigInteger),
            sa.literal(root_hash, sa.LargeBinary),
            sa.literal(timestamp_ms, sa.BigInteger),
            sa.literal(key_id, sa.String),
            sa.literal(signature, sa.LargeBinary),
        ).where(~larger)
        columns = ["tree_size", "root_hash", "timestamp_ms", "key_id", "signature"]
        with self.engine.begin() as c:
            if self.engine.dialect.name != "sqlite":
                c.exec_driver_sql("LOCK TABLE tree_heads IN SHARE ROW EXCLUSIVE MODE")
            current = c.execute(
                sa.select(key_ring.c.key_id).order_by(key_ring.c.generation.desc()).limit(1)
            ).scalar()
            if current is not None and current != key_id:
                raise ConfigurationError(
                    f"key {key_id} was retired by a master-key rotation; it signs no more heads"
                )
            added = c.execute(
                tree_heads.insert().from_select(columns, row).returning(tree_heads.c.head_id)
            ).first()
        return None if added is None else int(added[0])

    def all(self) -> list[dict[str, Any]]:
        with self.engine.connect() as c:
            rows = c.execute(sa.select(tree_heads).order_by(tree_heads.c.head_id)).mappings().all()
        return [dict(r) for r in rows]

    def latest(self) -> dict[str, Any] | None:
        with self.engine.connect() as c:
            row = (
                c.execute(sa.select(tree_heads).order_by(tree_heads.c.head_id.desc()).limit(1))
                .mappings()
                .first()
            )
        return None if row is None else dict(row)


Record = tuple[int, Any, int, str, Any]


class RecordTable:
    """Reads eventsourcing's events table as plain tuples: the fast path for the full audit."""

    def __init__(self, engine: Engine, table_name: str) -> None:
        self.engine = engine
        sqlite = engine.dialect.name == "sqlite"
        nid = "rowid" if sqlite else "notification_id"
        table = '"' + table_name.replace('"', '""') + '"'
        self._page = sa.text(
            f"SELECT {nid}, originator_id, originator_version, topic, state FROM {table} "  # noqa: S608
            f"WHERE {nid} > :last ORDER BY {nid} LIMIT :limit"
        )
        self._page_pg = (
            f"SELECT {nid}, originator_id, originator_version, topic, state FROM {table} "  # noqa: S608
            f"WHERE {nid} > %(last)s ORDER BY {nid} LIMIT %(limit)s"
        )
        self._find = sa.text(
            f"SELECT {nid} FROM {table} WHERE originator_id = :oid AND originator_version = :v"  # noqa: S608
        )
        self._sqlite = sqlite

    def iterate_after(self, last: int = -1, batch: int = 20_000) -> Iterator[Record]:
        """Stream records in notification order, fetching the next page while this one is used."""
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-audit") as pool:
            pending = pool.submit(self._fetch, last, batch)
            while True:
                rows = pending.result()
                if len(rows) == batch:
                    pending = pool.submit(self._fetch, rows[-1][0], batch)
                yield from rows
                if len(rows) < batch:
                    return

    def _fetch(self, last: int, limit: int) -> list[Record]:
        if self._sqlite:
            with self.engine.connect() as c:
                return [tuple(row) for row in c.execute(self._page, {"last": last, "limit": limit})]
        # PostgreSQL: binary results skip the hex round trip of bytea, the bulk of each row.
        raw = self.engine.raw_connection()
        try:
            with raw.driver_connection.cursor(binary=True) as cursor:  # type: ignore[union-attr]
                cursor.execute(self._page_pg, {"last": last, "limit": limit})
                rows: list[Record] = cursor.fetchall()
            raw.commit()
            return rows
        finally:
            raw.close()

    def page(self, last: int, limit: int) -> list[Record]:
        """Up to `limit` records after notification id `last`, in order: one query."""
        return self._fetch(last, limit)

    def at(self, notification_id: int) -> Record | None:
        """The one record of that notification id, or None: one query, no read-ahead."""
        rows = self._fetch(notification_id - 1, 1)
        return rows[0] if rows and rows[0][0] == notification_id else None

    def notification_id(self, originator_id: UUID, originator_version: int) -> int | None:
        with self.engine.connect() as c:
            row = c.execute(
                self._find,
                {
                    "oid": originator_id.hex if self._sqlite else originator_id,
                    "v": originator_version,
                },
            ).first()
        return None if row is None else int(row[0])
