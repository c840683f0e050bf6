"""Embedded mode: a job run in this process, as a worker would run it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from api.jobs.results import JobResult
from api.jobs.settings import Ctx
from api.jobs.tasks import job_function
from ledger.application import MuseumLedger


def run_job_inline(
    name: str,
    job_id: str,
    *,
    on_progress: Callable[[Any], None] | None = None,
    ledger: MuseumLedger | None = None,
    home: Path | None = None,
    **kwargs: Any,
) -> JobResult:
    """Run a job in this process, as a worker would (without a lease: no one else can take it).

    Without `ledger`, the job opens and closes one of its own; `home` is that ledger's data
    directory (where attribution indexes live) when it is not the environment's. Blocking: from a running event
    loop, submit to a worker instead (`api.jobs.client`) or call this in a thread."""
    function = job_function(name)
    ctx: Ctx = {"job_id": job_id, "job_try": 1, "enqueue_time": datetime.now(UTC), "score": None}
    if on_progress is not None:
        ctx["on_progress"] = on_progress
    if ledger is not None:
        ctx["ledger"] = ledger
    if home is not None:
        ctx["home"] = home
    return asyncio.run(function(ctx, **kwargs))
