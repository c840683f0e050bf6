"""The retraining schedule as a caller sees it: what waits for a retraining run, and when.

A request's subject (the erased artist, or the donation whose `train` consent changed) is shown
only to callers who may see who asked (`subjects=True`: staff); everyone else sees the cause,
the times and how many donations it touches.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ledger.application import MuseumLedger
from ledger.validation import aware
from ledger.views import View


class RetrainingRequestRead(View, frozen=True, kw_only=True):
    """One request: its number (its place in the schedule), cause (`erasure`, `train-revoked`,
    `train-granted`), subject (staff only, else null), donations touched, when it was made and
    when its batch is due at the latest."""

    number: int
    cause: str
    subject: str | None
    donations: int
    requested_at: str
    due_at: str


class RetrainingBatchRead(View, frozen=True, kw_only=True):
    """A retraining run in progress and the requests it serves."""

    run_id: str
    requests: list[RetrainingRequestRead]


class RetrainingScheduleRead(View, frozen=True, kw_only=True):
    """What the museum owes its model at `now`: the pending requests (the next batch, due at
    `due_at`; `due` once that time has come), the runs serving others, how many requests were
    served so far, and the batching window new requests get (`window_seconds`)."""

    now: str
    window_seconds: float
    due_at: str | None
    due: bool
    pending: list[RetrainingRequestRead]
    in_flight: list[RetrainingBatchRead]
    served: int


def _request(request: dict[str, Any], subjects: bool) -> RetrainingRequestRead:
    return RetrainingRequestRead(
        number=int(request["number"]),
        cause=str(request["cause"]),
        subject=str(request["subject"]) if subjects else None,
        donations=len(request["donation_ids"]),
        requested_at=str(request["requested_at"]),
        due_at=str(request["due_at"]),
    )


def retraining_schedule(
    ledger: MuseumLedger, *, subjects: bool, now: datetime | None = None
) -> RetrainingScheduleRead:
    """The schedule at `now` (default: the present moment)."""
    moment = datetime.now(UTC) if now is None else aware(now, "now")
    schedule = ledger.retraining_schedule()
    due = schedule.due_at()
    return RetrainingScheduleRead(
        now=moment.isoformat(),
        window_seconds=ledger.retrain_window.total_seconds(),
        due_at=None if due is None else due.isoformat(),
        due=schedule.is_due(moment),
        pending=[_request(r, subjects) for r in schedule.pending],
        in_flight=[
            RetrainingBatchRead(run_id=run_id, requests=[_request(r, subjects) for r in taken])
            for run_id, taken in schedule.in_flight.items()
        ],
        served=len(schedule.served),
    )
