"""Readiness: the database, the job queue and the blob store each answer, or say why not."""

from __future__ import annotations

import os
import time

import sqlalchemy as sa
from redis import Redis
from redis.exceptions import RedisError

from ledger.application import MuseumLedger
from ledger.views import View

TIMEOUT_S = 2.0


class CheckRead(View, frozen=True, kw_only=True):
    name: str
    ok: bool
    detail: str
    seconds: float


class ReadyRead(View, frozen=True, kw_only=True):
    """`ready` when every dependency answers; the checks name the one that does not."""

    status: str
    checks: list[CheckRead]


class HealthRead(View, frozen=True, kw_only=True):
    status: str


def _timed(name: str, check: object) -> CheckRead:
    began = time.perf_counter()
    try:
        detail = check() if callable(check) else str(check)
        ok = True
    except (sa.exc.SQLAlchemyError, RedisError, OSError) as exc:
        # The kind of failure only: a driver's message may repeat a URL with its password.
        detail, ok = f"unreachable ({type(exc).__name__})", False
    return CheckRead(
        name=name, ok=ok, detail=str(detail), seconds=round(time.perf_counter() - began, 4)
    )


def ready(ledger: MuseumLedger, redis_url: str | None) -> ReadyRead:
    """Ask each dependency once, with a short timeout."""

    def database() -> str:
        with ledger.engine.connect() as c:
            c.execute(sa.text("SELECT 1"))
        return ledger.engine.dialect.name

    def queue() -> str:
        if not redis_url:
            return "in-process (embedded)"
        client = Redis.from_url(
            redis_url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S
        )
        try:
            client.ping()
        finally:
            client.close()
        return "redis"

    def blobs() -> str:
        root = ledger.blobs.root
        if not root.is_dir() or not os.access(root, os.W_OK | os.X_OK):
            raise OSError(f"the blob store {root} is missing or not writable")
        return "directory"

    checks = [_timed("database", database), _timed("queue", queue), _timed("blob_store", blobs)]
    return ReadyRead(status="ready" if all(c.ok for c in checks) else "unready", checks=checks)
