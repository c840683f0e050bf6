"""The retraining job's result, read from the ledger after `generation.retraining.retrain`,
and its answer when nothing is due, given before torch loads."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from uuid import UUID

from api.jobs.results import RetrainJobResult
from api.jobs.settings import Ctx
from ledger.application import MuseumLedger
from ledger.domain.model import TrainingRun
from ledger.erasures import Erasures
from ledger.model_records import ModelRecords


def nothing_due(ledger: MuseumLedger, job_id: str, *, now: bool) -> str | None:
    """Why this job has nothing to do (nothing pending, or the batch not due yet, and no run of
    its own to resume), or None: the retraining decides again with the ledger it reads then."""
    if ledger.find(TrainingRun.create_id(job_id), TrainingRun) is not None:
        return None
    schedule = ledger.retraining_schedule()
    if not schedule.pending:
        return "no retraining is scheduled"
    due = schedule.due_at()
    if now or due is None or due <= datetime.now(UTC):
        return None
    return f"the next batch is due at {due.isoformat()}"


def retrain_result(
    ctx: Ctx,
    ledger: MuseumLedger,
    run: TrainingRun | None,
    requests: list[int],
    reason: str,
    continuation: TrainingRun | None = None,
) -> RetrainJobResult:
    """What the job did: its run's shards and version, and the erasures it completed.

    Settling again here is what closes an erasure whose run completed in an earlier try of the
    job that stopped before it certified (settling is safe to repeat)."""
    if run is not None and run.state == "completed":
        Erasures(ledger).settle()
    schedule = ledger.retraining_schedule()
    served = [schedule.requests[n] for n in requests if n in schedule.requests]
    erased = dict.fromkeys(r["subject"] for r in served if r["cause"] == "erasure")
    certified = [
        artist
        for artist in erased
        if ledger.get_artist(UUID(artist)).erasure_certificate is not None
    ]
    due = schedule.due_at()
    plan = (run.retraining if run is not None else None) or {}
    dropped = sorted(run.dropped_shards) if run is not None else []
    deployed = run is not None and ModelRecords(ledger).registry().deployed == run.id
    return RetrainJobResult(
        job_id=ctx["job_id"],
        run_id=None if run is None else str(run.id),
        state=run.state if run is not None else ("unneeded" if requests else "nothing-due"),
        requests=list(requests),
        causes=dict(sorted(Counter(r["cause"] for r in served).items())),
        shards=None if run is None else run.shards,
        shards_retrained=[s for s in plan.get("retrained", []) if s not in dropped],
        shards_reused=list(plan.get("reused", [])),
        shards_dropped=dropped,
        deployed=deployed,
        reason=reason,
        next_due_at=None if due is None else due.isoformat(),
        erasures_certified=certified,
        tries=int(ctx.get("job_try", 1)),
        continuation_run_id=None if continuation is None else str(continuation.id),
    )
