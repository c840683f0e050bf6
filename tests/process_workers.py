"""Bodies of the processes that tests/test_concurrency.py spawns.

Kept apart from the test module so that each spawned process imports only the ledger, not the
test factories (a second or more of start-up each, times a dozen processes on two cores).
"""

from __future__ import annotations

import os
from typing import Any
from uuid import UUID

from ledger.runtime import close_ledger, open_ledger, opened_ledger
from ledger.settings import Settings


def toggler(
    settings: Settings, donation_id: str, purpose: str, toggles: int, ready: Any, go: Any, out: Any
) -> None:
    """Grant, revoke, grant… one purpose on the shared donation; report every answer."""
    os.environ["POSTGRES_POOL_SIZE"] = "1"  # the test server is shared: one connection each
    with opened_ledger(settings) as ledger:
        ready.put(purpose)
        go.wait(60)
        answers: list[bool] = []
        error = None
        try:
            for n in range(toggles):
                command = ledger.grant_consent if n % 2 == 0 else ledger.revoke_consent
                answers.append(command(UUID(donation_id), purpose))
        except Exception as exc:  # reported, not swallowed: the parent asserts there is none
            error = f"{type(exc).__module__}.{type(exc).__name__}: {exc}"
        out.put((purpose, answers, ledger.lost_races, error))


def opener(settings: Settings, ready: Any, go: Any, out: Any) -> None:
    """Open the ledger the moment the parent says go, as a worker or server starting would."""
    os.environ["POSTGRES_POOL_SIZE"] = "1"
    ready.put(os.getpid())
    go.wait(60)
    try:
        close_ledger(open_ledger(settings))
        out.put("ok")
    except Exception as exc:
        out.put(f"{type(exc).__module__}.{type(exc).__name__}: {str(exc)[:200]}")
