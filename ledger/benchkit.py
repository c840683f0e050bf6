"""What every bench harness needs and none should write twice: a throw-away PostgreSQL
database, the machine's facts, the load average. No torch here (the ledger never
loads it): torch's threads and facts are `generation.benchkit`'s."""

from __future__ import annotations

import os
import platform
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from ledger.crypto import MasterKey
from ledger.settings import Settings


class PostgresUnreachable(Exception):
    """The server named for the bench cannot be reached; `reason` says why, password hidden."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


NO_POSTGRES_URL = "no PostgreSQL URL given (--postgres-url)"
BACKENDS = ("sqlite", "postgres")


def skipped_backend(backend: str, reason: str) -> dict[str, Any]:
    """A backend's figures when it was not measured, and why (shown by the renderers)."""
    return {"backend": backend, "skipped": True, "reason": reason}


def measured_backends(figures: dict[str, Any]) -> list[str]:
    """The backends of a ledger-side bench that were measured, in their usual order."""
    return [backend for backend in BACKENDS if not figures[backend]["skipped"]]


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


def bench_settings(home: Path, database_url: str | None = None) -> Settings:
    """Settings of a throw-away ledger under `home`, with a fresh master key of its own."""
    return Settings(
        home=home, database_url=database_url, master_key=SecretStr(MasterKey.generate_text())
    )


def on_scratch_postgres(
    postgres_url: str,
    home: Path,
    measure: Callable[[Settings, ScratchDatabase], dict[str, Any]],
) -> tuple[dict[str, Any], str | None]:
    """`measure` a ledger in a fresh scratch database (always dropped): its figures with the
    database's name, and the server version; a skipped backend if the server is unreachable."""
    try:
        with scratch_database(postgres_url) as database:
            figures = measure(bench_settings(home, database.url), database)
            return figures | {"database": database.name}, database.server_version
    except PostgresUnreachable as exc:
        return skipped_backend("postgres", exc.reason), None


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages: other work on the machine slows every figure."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # not available on this platform
        return None


def cpu_name() -> str:
    """The CPU's model name (Linux), else what `platform` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity), else all of them."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 0


_HOST_FACTS = ("cpu_count", "usable_cpus", "cpu", "machine", "platform", "python")


def host_facts(*keys: str) -> dict[str, Any]:
    """The machine's facts a bench reports, in the order asked (each bench keeps its own keys):
    cpu_count, usable_cpus, cpu, machine, platform, python, python_implementation."""
    facts: dict[str, Callable[[], object]] = {
        "cpu_count": os.cpu_count,
        "usable_cpus": usable_cpus,
        "cpu": cpu_name,
        "machine": platform.machine,
        "platform": platform.platform,
        "python": platform.python_version,
        "python_implementation": platform.python_implementation,
    }
    unknown = set(keys) - set(facts)
    if unknown:
        raise ValueError(f"unknown machine facts: {sorted(unknown)}")
    return {key: facts[key]() for key in keys or _HOST_FACTS}
