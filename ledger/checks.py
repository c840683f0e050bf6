"""When the whole ledger last verified, kept beside it so any process can report its age."""

from __future__ import annotations

import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ledger.tables import ledger_checks

VERIFY = "verify"


@dataclass(frozen=True)
class LastCheck:
    checked_at_ms: int
    events: int


def record_check(engine: Engine, events: int, name: str = VERIFY) -> None:
    """Note that the check `name` passed now over `events` events (one row per check)."""
    now = int(time.time() * 1000)
    with engine.begin() as c:
        updated = c.execute(
            ledger_checks.update()
            .where(ledger_checks.c.name == name)
            .values(checked_at_ms=now, events=events)
        ).rowcount
        if not updated:
            c.execute(ledger_checks.insert().values(name=name, checked_at_ms=now, events=events))


def last_check(engine: Engine, name: str = VERIFY) -> LastCheck | None:
    with engine.connect() as c:
        row = c.execute(
            sa.select(ledger_checks.c.checked_at_ms, ledger_checks.c.events).where(
                ledger_checks.c.name == name
            )
        ).first()
    return None if row is None else LastCheck(int(row[0]), int(row[1]))
