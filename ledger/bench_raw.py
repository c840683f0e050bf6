"""The raw side of `museum bench ledger`: the records the ledger stored, replayed as plain inserts
on the same database with the same durability and no ledger in between."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import psycopg
from psycopg import sql

from ledger.application import MuseumLedger
from ledger.sealing import originator_text

RAW_TABLE = "bench_raw_events"


@dataclass(frozen=True)
class Row:
    originator_id: str
    originator_version: int
    topic: str
    state: bytes


def stored_rows(ledger: MuseumLedger, first_id: int, last_id: int) -> list[Row]:
    """The records the ledger stored with notification ids in (first_id, last_id]."""
    rows: list[Row] = []
    start = first_id
    while start < last_id:
        page = ledger.recorder.select_notifications(
            start, 5000, stop=last_id, inclusive_of_start=False
        )
        if not page:
            break
        rows += [
            Row(originator_text(n.originator_id), n.originator_version, n.topic, bytes(n.state))
            for n in page
        ]
        start = page[-1].id
    return rows


class RawSQLite:
    """Plain `sqlite3`, opened the way eventsourcing opens it: autocommit, explicit BEGIN, WAL."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self.conn.execute("PRAGMA journal_mode=WAL")
        # Same shape as eventsourcing's `stored_events` (rowid is the notification id).
        self.conn.execute(
            f"CREATE TABLE IF NOT EXISTS {RAW_TABLE} (originator_id TEXT, originator_version INTEGER, "
            "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))"
        )
        self.statement = (
            f"INSERT INTO {RAW_TABLE} (originator_id, originator_version, topic, state) "  # noqa: S608
            "VALUES (?, ?, ?, ?)"
        )

    def durability(self) -> str:
        mode = self.conn.execute("PRAGMA journal_mode").fetchone()[0]
        sync = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(
            self.conn.execute("PRAGMA synchronous").fetchone()[0], "?"
        )
        return f"journal_mode={mode}, synchronous={sync} (SQLite default; eventsourcing sets none)"

    def insert(self, rows: Sequence[Row]) -> float:
        params = [(r.originator_id, r.originator_version, r.topic, r.state) for r in rows]
        conn, statement = self.conn, self.statement
        began = time.perf_counter()
        for row in params:
            cursor = conn.cursor()
            cursor.execute("BEGIN")
            cursor.execute(statement, row)
            _ = cursor.lastrowid
            conn.commit()
        return time.perf_counter() - began

    def close(self) -> None:
        self.conn.close()


class RawPostgres:
    """Plain `psycopg`, default settings: one INSERT ... RETURNING and one COMMIT per row."""

    def __init__(self, conninfo: str) -> None:
        self.conn = psycopg.connect(conninfo)
        self.conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (originator_id uuid NOT NULL, originator_version bigint NOT NULL, "
                "topic text, state bytea, id bigserial, PRIMARY KEY (originator_id, originator_version))"
            ).format(sql.Identifier(RAW_TABLE))
        )
        self.conn.execute(
            sql.SQL("CREATE UNIQUE INDEX IF NOT EXISTS {} ON {} (id)").format(
                sql.Identifier(RAW_TABLE + "_id"), sql.Identifier(RAW_TABLE)
            )
        )
        self.conn.commit()
        self.statement = sql.SQL(
            "INSERT INTO {} (originator_id, originator_version, topic, state) VALUES (%s, %s, %s, %s) "
            "RETURNING id"
        ).format(sql.Identifier(RAW_TABLE))

    def durability(self) -> str:
        row = self.conn.execute(
            "SELECT current_setting('synchronous_commit'), current_setting('fsync')"
        ).fetchone()
        self.conn.commit()
        return "server defaults" if row is None else f"synchronous_commit={row[0]}, fsync={row[1]}"

    def insert(self, rows: Sequence[Row]) -> float:
        params = [(UUID(r.originator_id), r.originator_version, r.topic, r.state) for r in rows]
        conn, statement = self.conn, self.statement
        began = time.perf_counter()
        for row in params:
            with conn.cursor() as cursor:
                cursor.execute(statement, row, prepare=True)
                cursor.fetchone()
            conn.commit()
        return time.perf_counter() - began

    def close(self) -> None:
        self.conn.close()
