"""`museum doctor`: is this museum in order? One check per concern, each a line an operator
can act on: configuration, connectivity, schema version, disk space, the last verify, the last
backup, and open erasures near their deadline.

It only looks: no schema is set up, no development key is made, nothing is written. The ledger
itself is opened only when the database answers at the schema's head, to read the erasures.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from ledger import upkeep
from ledger.application import MuseumLedger
from ledger.backup_views import CheckRead, DoctorRead
from ledger.bootstrap import schema_state
from ledger.crypto import MasterKey
from ledger.errors import LedgerError
from ledger.runtime import database_parts, is_unusable_database, opened_ledger, unusable_database
from ledger.settings import Settings
from ledger.store import make_engine


@dataclass(frozen=True)
class Limits:
    """When a figure needs action."""

    min_free_bytes: int = 1 << 30
    verify_max_age: timedelta = timedelta(days=7)
    backup_max_age: timedelta = timedelta(hours=24)
    erasure_warning: timedelta = timedelta(days=7)  # an open erasure this close to its deadline


def _age(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _configuration(settings: Settings) -> CheckRead:
    mode = (
        f"embedded (SQLite at {settings.sqlite_path})"
        if settings.embedded
        else "distributed (PostgreSQL"
        + (", Redis job queue)" if settings.redis_url else ", jobs in-process)")
    )
    home_key = settings.home / "master.key"
    try:
        if settings.master_key is not None:
            MasterKey.from_text(settings.master_key.get_secret_value())
            key = "master key from MUSEUM_MASTER_KEY"
        elif settings.master_key_file is not None:
            MasterKey.from_text(settings.master_key_file.read_text())
            key = f"master key from {settings.master_key_file}"
        elif settings.embedded and home_key.exists():
            MasterKey.from_text(home_key.read_text())
            key = f"development master key at {home_key}"
        elif settings.embedded:
            key = "no master key yet (a development key is made on first use)"
        else:
            return CheckRead(
                name="configuration",
                ok=False,
                detail=f"{mode}: MUSEUM_MASTER_KEY or MUSEUM_MASTER_KEY_FILE is needed",
            )
    except (LedgerError, OSError, UnicodeError) as exc:
        return CheckRead(name="configuration", ok=False, detail=f"{mode}: the master key: {exc}")
    shred = settings.shred_list_path
    inside = shred.absolute().is_relative_to(settings.home.absolute())
    where = f"shred list {shred}" + (
        " (inside MUSEUM_HOME: lost with the machine; MUSEUM_SHRED_LIST moves it)" if inside else ""
    )
    return CheckRead(name="configuration", ok=True, detail=f"{mode}; {key}; {where}")


def _database(settings: Settings) -> tuple[CheckRead, CheckRead, bool]:
    """Connectivity and schema version; whether the ledger can be opened for reading."""
    if settings.embedded and not settings.sqlite_path.exists():
        missing = f"no ledger at {settings.sqlite_path} (museum migrate makes one)"
        return (
            CheckRead(name="connectivity", ok=False, detail=missing),
            CheckRead(name="schema version", ok=False, detail="no database to read"),
            False,
        )
    url, _ = database_parts(settings)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        state = schema_state(engine, MuseumLedger.name)
    except Exception as exc:
        if not is_unusable_database(exc):
            raise
        reason = str(unusable_database(settings, exc))
        return (
            CheckRead(name="connectivity", ok=False, detail=reason),
            CheckRead(name="schema version", ok=False, detail="the database cannot be read"),
            False,
        )
    finally:
        engine.dispose()
    where = "SQLite file opens" if settings.embedded else "PostgreSQL answers"
    connected = CheckRead(name="connectivity", ok=True, detail=f"database: {where}")
    if state.ready:
        schema = CheckRead(name="schema version", ok=True, detail=f"at revision {state.head}")
    else:
        missing = "" if state.has_events_table else ", the events table is missing"
        schema = CheckRead(
            name="schema version",
            ok=False,
            detail=f"at revision {state.revision}, this version needs {state.head}{missing}: "
            "run museum migrate",
        )
    return connected, schema, state.ready


def _disk(settings: Settings, limits: Limits) -> CheckRead:
    folder: Path = settings.home if settings.home.exists() else settings.home.absolute().parent
    try:
        usage = shutil.disk_usage(folder)
    except OSError as exc:
        return CheckRead(name="disk space", ok=False, detail=f"{folder}: {exc.strerror or exc}")
    free = usage.free
    detail = (
        f"{free / 2**30:,.1f} GiB free of {usage.total / 2**30:,.1f} GiB at {folder} "
        f"(needs {limits.min_free_bytes / 2**30:,.1f} GiB)"
    )
    return CheckRead(name="disk space", ok=free >= limits.min_free_bytes, detail=detail)


def _last(settings: Settings, kind: upkeep.Kind, max_age: timedelta, how: str) -> CheckRead:
    name = f"last {kind}"
    record = upkeep.last(settings.home, kind)
    if record is None:
        return CheckRead(name=name, ok=False, detail=f"none recorded: run {how}")
    age = upkeep.age_seconds(record)
    when = f"{record['at']} ({_age(age)} ago)" if age is not None else str(record["at"])
    if not record.get("ok", False):
        return CheckRead(
            name=name, ok=False, detail=f"FAILED at {when}: {record.get('error', 'no reason')}"
        )
    facts = f", {record['events']:,} events" if isinstance(record.get("events"), int) else ""
    if "dest" in record:
        facts += f", to {record['dest']}"
    if age is None or age > max_age.total_seconds():
        return CheckRead(
            name=name,
            ok=False,
            detail=f"{when}{facts}: older than {_age(max_age.total_seconds())}; run {how}",
        )
    return CheckRead(name=name, ok=True, detail=f"{when}{facts}")


def _erasures(settings: Settings, limits: Limits, now: datetime) -> CheckRead:
    from ledger.erasures import Erasures

    with opened_ledger(settings) as ledger:
        statuses = [s for s in Erasures(ledger).every(now) if not s.completed]
    near = [
        s
        for s in statuses
        if s.time_left_seconds is not None
        and s.time_left_seconds <= limits.erasure_warning.total_seconds()
    ]
    if not near:
        return CheckRead(
            name="erasures",
            ok=True,
            detail=f"{len(statuses)} open, none within {_age(limits.erasure_warning.total_seconds())} "
            "of its deadline",
        )
    overdue = sum(1 for s in near if s.overdue)
    first = min(near, key=lambda s: s.time_left_seconds or 0)
    return CheckRead(
        name="erasures",
        ok=False,
        detail=f"{len(near)} of {len(statuses)} open erasures within "
        f"{_age(limits.erasure_warning.total_seconds())} of their deadline ({overdue} overdue); "
        f"the nearest: artist {first.artist_id}, deadline {first.deadline}: "
        "run museum retrain --now",
    )


def examine(
    settings: Settings, limits: Limits = Limits(), now: datetime | None = None
) -> DoctorRead:
    """Every check, in order; the erasures are read only from a ledger that opens cleanly."""
    moment = now or datetime.now(UTC)
    configuration = _configuration(settings)
    connected, schema, readable = _database(settings)
    checks = [configuration, connected, schema, _disk(settings, limits)]
    checks.append(_last(settings, "verify", limits.verify_max_age, "museum ledger verify"))
    checks.append(_last(settings, "backup", limits.backup_max_age, "museum backup DEST"))
    if readable and configuration.ok and "no master key yet" not in configuration.detail:
        checks.append(_erasures(settings, limits, moment))
    else:
        checks.append(
            CheckRead(name="erasures", ok=False, detail="not read: the ledger cannot be opened")
        )
    return DoctorRead(checks=checks)
