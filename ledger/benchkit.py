"""What every `museum bench …` needs: a throw-away PostgreSQL database, torch's thread count."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url


class PostgresUnreachable(Exception):
    """The server named for the bench cannot be reached; `reason` says why, password hidden."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ScratchDatabase:
    name: str
    url: str  # the database's URL, password included (for the ledger's settings)
    server_version: str | None


@contextmanager
def scratch_database(postgres_url: str) -> Iterator[ScratchDatabase]:
    """A fresh `museum_bench_<random>` database on the server, always dropped afterwards."""
    admin_url = make_url(postgres_url).set(drivername="postgresql")
    admin_conninfo = admin_url.render_as_string(hide_password=False)
    shown = admin_url.render_as_string(hide_password=True)
    name = f"museum_bench_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(admin_conninfo, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise PostgresUnreachable(
            f"cannot reach PostgreSQL at {shown}: {' '.join(str(exc).split())}"
        ) from None
    with admin:
        row = admin.execute("SHOW server_version").fetchone()
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield ScratchDatabase(
            name=name,
            url=admin_url.set(database=name).render_as_string(hide_password=False),
            server_version=None if row is None else str(row[0]),
        )
    finally:
        with psycopg.connect(admin_conninfo, autocommit=True, connect_timeout=5) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """torch's CPU threads set to `threads` (None: leave them) for the block, then restored."""
    if threads is not None and (
        isinstance(threads, bool) or not isinstance(threads, int) or threads < 1
    ):
        raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
    import torch  # deferred: the ledger and royalty benches never load torch

    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
