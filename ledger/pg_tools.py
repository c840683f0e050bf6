"""PostgreSQL's own tools for the distributed mode's backups: `pg_dump` and `pg_restore`.

The dump is taken in a snapshot exported by a repeatable-read transaction that also counts the
events, so the manifest's figures are those of the very snapshot dumped, while writers go on.
The restore runs in one transaction: a failed one leaves the database as empty as it was. The
password travels in the environment (`PGPASSWORD`), never on the command line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from ledger.errors import ConfigurationError, Conflict

T = TypeVar("T")


@dataclass(frozen=True)
class Snapshot:
    events: int
    last_notification_id: int
    keys: int
    schema_revision: str | None


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password, and the environment that carries it."""
    parsed = make_url(url).set(drivername="postgresql")
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    return parsed.set(password=None).render_as_string(hide_password=False), env


def _conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _run(tool: str, args: list[str], url: str) -> None:
    if shutil.which(tool) is None:
        raise ConfigurationError(
            f"{tool} is not installed here: the distributed mode's backups use PostgreSQL's "
            "own tools (Debian: apt-get install postgresql-client)"
        )
    dbname, env = _libpq(url)
    done = subprocess.run(  # noqa: S603 - a fixed tool with our own arguments
        [tool, *args, f"--dbname={dbname}"], capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0:
        reason = " ".join(done.stderr.split())[:400] or f"exit status {done.returncode}"
        raise ConfigurationError(f"{tool} failed: {reason}")


def dump_snapshot(url: str, events_table: str, target: Path) -> Snapshot:
    """`pg_dump` (custom format) of the database at one snapshot, and that snapshot's figures."""
    with psycopg.connect(_conninfo(url), connect_timeout=10) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        row = conn.execute("SELECT pg_export_snapshot()").fetchone()
        snapshot = str(row[0]) if row else ""
        counts = conn.execute(
            sql.SQL("SELECT count(*), coalesce(max(notification_id), 0) FROM {}").format(
                sql.Identifier(events_table)
            )
        ).fetchone()
        keys = conn.execute("SELECT count(*) FROM artist_keys").fetchone()
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        # The exporting transaction must stay open while pg_dump reads its snapshot.
        _run(
            "pg_dump",
            [
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                f"--snapshot={snapshot}",
                f"--file={target}",
            ],
            url,
        )
        conn.rollback()
    return Snapshot(
        events=int(counts[0]) if counts else 0,
        last_notification_id=int(counts[1]) if counts else 0,
        keys=int(keys[0]) if keys else 0,
        schema_revision=str(revision[0]) if revision else None,
    )


def _tables(conn: psycopg.Connection[tuple[object, ...]]) -> list[str]:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    ).fetchall()
    return sorted(str(r[0]) for r in rows)


def check_empty(url: str) -> None:
    """The database holds no table yet: a restore never writes over a ledger."""
    with psycopg.connect(_conninfo(url), connect_timeout=10) as conn:
        tables = _tables(conn)
    if tables:
        shown = make_url(url).render_as_string(hide_password=True)
        raise Conflict(
            f"the database of MUSEUM_DATABASE_URL ({shown}) is not empty ({len(tables)} tables, "
            f"e.g. {tables[0]}): restore into a new, empty database"
        )


def restore_dump(url: str, source: Path) -> None:
    """`pg_restore` into the (empty) database, all in one transaction."""
    _run(
        "pg_restore",
        ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", str(source)],
        url,
    )


def drop_restored(url: str) -> None:
    """Take out again every table, sequence and type a restore made (the database was empty)."""
    with psycopg.connect(_conninfo(url), connect_timeout=10, autocommit=True) as conn:
        for table in _tables(conn):
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(sql.Identifier(table)))
        rows = conn.execute(
            "SELECT sequence_name FROM information_schema.sequences "
            "WHERE sequence_schema = 'public'"
        ).fetchall()
        for (name,) in rows:
            conn.execute(
                sql.SQL("DROP SEQUENCE IF EXISTS {} CASCADE").format(sql.Identifier(str(name)))
            )
        types = conn.execute(  # eventsourcing's composite types, free-standing
            "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
            "LEFT JOIN pg_class c ON c.oid = t.typrelid WHERE n.nspname = 'public' "
            "AND t.typtype IN ('c', 'e', 'd') AND (t.typrelid = 0 OR c.relkind = 'c')"
        ).fetchall()
        for (name,) in types:
            conn.execute(
                sql.SQL("DROP TYPE IF EXISTS {} CASCADE").format(sql.Identifier(str(name)))
            )


def guarded(url: str, work: Callable[[], T]) -> T:
    """Run `work` after restoring into `url`; on any failure drop what was restored."""
    try:
        return work()
    except BaseException:
        drop_restored(url)
        raise
