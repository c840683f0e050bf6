"""The retraining the museum owes: erasures and `train` consent changes waiting for a model.

One schedule for the whole museum. Each erasure or change of `train` consent on a donation that a
deployed model may have learned from becomes a request; the first request after a quiet spell
opens a batching window, and every request that arrives before the window closes is served by the
same retraining run. A run takes the pending requests when it starts and settles them when it
ends: served when its model version is complete, back to pending (due at once) when it fails.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.domain.artist import ERASURE_DEADLINE, MUSEUM_NAMESPACE
from ledger.errors import Conflict, InvalidInput

CAUSES = ("erasure", "train-revoked", "train-granted")
# A window as long as the erasure deadline would let an erasure run out of time in the queue.
MAX_WINDOW = ERASURE_DEADLINE / 2


class RetrainingSchedule(Aggregate):
    """Pending retraining requests, the runs serving them, and when the next batch is due."""

    SCHEDULE_ID = uuid5(MUSEUM_NAMESPACE, "retraining-schedule")

    @staticmethod
    def create_id() -> UUID:
        return RetrainingSchedule.SCHEDULE_ID

    @event("RetrainingScheduleOpened")
    def __init__(self) -> None:
        self.requests: dict[int, dict[str, Any]] = {}  # every request ever made, by number
        self.pending: list[dict[str, Any]] = []
        self.in_flight: dict[str, list[dict[str, Any]]] = {}
        self.served: dict[
            int, str | None
        ] = {}  # request number → run that served it (None: none needed)

    class RetrainingRequested(Aggregate.Event):
        """The request's time is the event's own timestamp; its number is the event's version."""

        cause: str
        subject: str
        donation_ids: list[str]
        window_seconds: float

        def apply(self, aggregate: Aggregate) -> None:
            if not isinstance(aggregate, RetrainingSchedule):
                raise TypeError("RetrainingRequested applies to the RetrainingSchedule")
            request = {
                "number": self.originator_version,
                "cause": self.cause,
                "subject": self.subject,
                "donation_ids": list(self.donation_ids),
                "requested_at": self.timestamp.isoformat(),
                "due_at": (self.timestamp + timedelta(seconds=self.window_seconds)).isoformat(),
            }
            aggregate.requests[self.originator_version] = request
            aggregate.pending.append(request)

    def request(self, cause: str, subject: str, donation_ids: list[str], window: timedelta) -> None:
        if cause not in CAUSES:
            raise InvalidInput(f"unknown retraining cause {cause!r}; expected one of {CAUSES}")
        if not timedelta(0) <= window <= MAX_WINDOW:
            raise InvalidInput(f"the batching window must lie between 0 and {MAX_WINDOW.days} days")
        self.trigger_event(
            self.RetrainingRequested,
            cause=cause,
            subject=subject,
            donation_ids=sorted(donation_ids),
            window_seconds=window.total_seconds(),
        )

    def due_at(self) -> datetime | None:
        """When the open batch must start: the earliest pending request's due time (a request
        that joins an open batch is served with it, before its own window would close)."""
        if not self.pending:
            return None
        return min(datetime.fromisoformat(r["due_at"]) for r in self.pending)

    def is_due(self, now: datetime) -> bool:
        due = self.due_at()
        return due is not None and due <= now

    def numbers(self, requests: list[dict[str, Any]]) -> list[int]:
        return [int(r["number"]) for r in requests]

    @event("RetrainingBatchStarted")
    def take(self, run_id: str, numbers: list[int]) -> None:
        """The run serves these pending requests (all of them, as a batch)."""
        taken = [r for r in self.pending if r["number"] in numbers]
        if len(taken) != len(numbers):
            raise Conflict("a retraining run can take only requests that are pending")
        self.pending = [r for r in self.pending if r["number"] not in numbers]
        self.in_flight[run_id] = taken

    @event("RetrainingBatchServed")
    def served_by(self, run_id: str) -> None:
        """The run's model version is complete: its requests are served."""
        if run_id not in self.in_flight:
            raise Conflict(f"run {run_id} serves no retraining batch")
        for request in self.in_flight.pop(run_id):
            self.served[int(request["number"])] = run_id

    class RetrainingBatchReturned(Aggregate.Event):
        """The run failed: its requests are pending again, due at once (they waited already)."""

        run_id: str
        reason: str

        def apply(self, aggregate: Aggregate) -> None:
            if not isinstance(aggregate, RetrainingSchedule):
                raise TypeError("RetrainingBatchReturned applies to the RetrainingSchedule")
            now = self.timestamp
            returned = [
                request
                | {"due_at": min(datetime.fromisoformat(request["due_at"]), now).isoformat()}
                for request in aggregate.in_flight.pop(self.run_id)
            ]
            aggregate.pending = sorted(
                [*aggregate.pending, *returned], key=lambda r: int(r["number"])
            )

    def returned_by(self, run_id: str, reason: str) -> None:
        if run_id not in self.in_flight:
            raise Conflict(f"run {run_id} serves no retraining batch")
        self.trigger_event(self.RetrainingBatchReturned, run_id=run_id, reason=reason)

    @event("RetrainingFoundUnneeded")
    def unneeded(self, numbers: list[int], reason: str) -> None:
        """Nothing any deployed model learned changes for these requests: served by no run."""
        taken = [r for r in self.pending if r["number"] in numbers]
        if len(taken) != len(numbers):
            raise Conflict("only pending requests can be found unneeded")
        self.pending = [r for r in self.pending if r["number"] not in numbers]
        for request in taken:
            self.served[int(request["number"])] = None

    def settle_run(self, run_id: str, *, served: bool, reason: str = "") -> bool:
        """The run ended: its batch, if it serves one, is served or returned to pending."""
        if run_id not in self.in_flight:
            return False
        if served:
            self.served_by(run_id)
        else:
            self.returned_by(run_id, reason=reason[:500])
        return True

    def owe_revoked(self, donation_ids: list[str], window: timedelta) -> bool:
        """Request the retraining that donations whose `train` consent was revoked while a run
        trained on them are owed, unless a pending request names them already."""
        named = {d for request in self.pending for d in request["donation_ids"]}
        owed = [donation_id for donation_id in donation_ids if donation_id not in named]
        for donation_id in owed:
            self.request("train-revoked", donation_id, [donation_id], window)
        return bool(owed)

    def requests_of(self, run_id: str) -> list[dict[str, Any]]:
        return list(self.in_flight.get(run_id, []))
