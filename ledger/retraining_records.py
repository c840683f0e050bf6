"""Ledger service for retraining after erasure: a run that serves the schedule's requests.

Apart from `ModelRecords` because each write here also takes requests off the retraining
schedule (`ledger.domain.retraining`) in the same save as the model registry's change.
"""

from __future__ import annotations

from typing import Any

from ledger.application import MuseumLedger
from ledger.domain.model import TrainingRun
from ledger.errors import Conflict
from ledger.model_records import ModelRecords
from ledger.training_snapshot import TrainingItem
from ledger.validation import key


class RetrainingRecords:
    """Starting a retraining run, serving requests with no run, withdrawing the deployed version."""

    def __init__(self, ledger: MuseumLedger) -> None:
        self.ledger = ledger
        self.models = ModelRecords(ledger)

    def start_retraining(
        self,
        *,
        job_id: str,
        base: TrainingRun,
        items: list[TrainingItem],
        consents_relied_on: list[dict[str, Any]],
        feedback_used: list[str],
        requests: list[int],
        retrained: list[int],
        reused: list[dict[str, Any]],
        emptied: list[int],
        feedback_effects: list[dict[str, Any]] | None = None,
    ) -> TrainingRun:
        """Start a retraining run in one save: its snapshot, its plan (shards retrained, and
        checkpoints reused from `base`), its empty shards dropped, the training slot and the
        requests it serves. A retried job gets its run back."""
        job_id = key(job_id, "job id")

        def start() -> TrainingRun:
            existing = self.ledger.find(TrainingRun.create_id(job_id), TrainingRun)
            if existing is not None:
                return existing
            run = TrainingRun.start(
                job_id=job_id,
                config=base.config,
                seed=base.seed,
                shards=base.shards,
                items=[item.as_dict() for item in items],
                consents_relied_on=consents_relied_on,
                feedback_used=feedback_used,
                feedback_effects=feedback_effects,
                keeps_shards=True,
            )
            run.plan_retraining(
                base_version=base.id, requests=requests, retrained=retrained, reused=reused
            )
            for shard in emptied:
                run.drop_shard(shard, "no item with training consent is left in this shard")
            registry = self.models.registry()
            if registry.deployed != base.id:
                raise Conflict(f"model version {base.id} is no longer the deployed one: plan again")
            registry.begin(run.id)
            schedule = self.ledger.retraining_schedule()
            schedule.take(str(run.id), requests)
            self.ledger.save(run, registry, schedule)
            return run

        return self.ledger.retry(start, "the model registry or the retraining schedule")

    def mark_unneeded(self, requests: list[int], reason: str) -> None:
        """Serve pending requests with no run: the deployed version already matches consent."""

        def serve() -> None:
            schedule = self.ledger.retraining_schedule()
            pending = set(schedule.numbers(schedule.pending))
            numbers = [n for n in requests if n in pending]
            if numbers:
                schedule.unneeded(numbers, reason)
                self.ledger.save(schedule)

        self.ledger.retry(serve, "the retraining schedule")

    def withdraw_deployed(self, base: TrainingRun, requests: list[int], reason: str) -> None:
        """Withdraw the deployed version and serve the requests that emptied it, in one save."""

        def withdraw() -> None:
            registry = self.models.registry()
            if registry.deployed != base.id:
                raise Conflict(f"model version {base.id} is no longer the deployed one")
            registry.withdraw(base.id, reason)
            schedule = self.ledger.retraining_schedule()
            pending = set(schedule.numbers(schedule.pending))
            served = [n for n in requests if n in pending]
            if served:
                schedule.unneeded(served, reason)
            self.ledger.save(registry, *([schedule] if served else []))

        self.ledger.retry(withdraw, "the model registry or the retraining schedule")
