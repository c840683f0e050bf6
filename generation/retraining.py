"""Retraining for erasure: bring the deployed model in line with consent, one shard at a time.

A retraining run compares the deployed version's training set with the items whose `train`
consent holds now, shard by shard (an item's shard is its artist's, `ledger.shards`). A shard
whose items are unchanged keeps its checkpoints, recorded by hash; a changed one is trained again
from scratch on its remaining items, with the run's seed and budget; a shard left with no items
is dropped from the ensemble. The old version stays deployed until the new one is complete; a
run that fails hands its requests back, due at once, and a killed one resumes under its job id.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from generation.presets import ModelConfig, TrainConfig
from generation.sampling import MAX_SEED
from generation.service import RunProgress, train_shard
from ledger.application import MuseumLedger
from ledger.domain.model import CONTINUATION, TrainingRun
from ledger.erasures import Erasures
from ledger.errors import Conflict, KeyShredded, NotFound
from ledger.model_records import ModelRecords
from ledger.retraining_records import RetrainingRecords
from ledger.shards import assign_shards, members_by_shard
from ledger.training_snapshot import ConsentSnapshot
from ledger.training_snapshot import TrainingItem as LedgerItem


@dataclass(frozen=True)
class RetrainingPlan:
    """What a retraining run will do, worked out from the ledger before anything is recorded."""

    base: TrainingRun
    requests: list[int]
    items: list[LedgerItem]
    retrained: list[int]
    reused: list[dict[str, Any]]
    emptied: list[int]
    changed: list[int]
    snapshot: ConsentSnapshot

    @property
    def needed(self) -> bool:
        """Some shard's items differ from the deployed version's (a shard empty before and
        after is carried over as dropped, and asks for no run)."""
        return bool(self.changed)


def plan_retraining(records: ModelRecords, requests: list[int]) -> RetrainingPlan:
    """Compare the deployed version with today's consent, shard by shard."""
    base = records.model_version()
    snapshot = records.consent_snapshot()
    old = members_by_shard([LedgerItem.from_dict(item) for item in base.items], base.shards)
    new = members_by_shard(assign_shards(snapshot.items, base.shards), base.shards)
    items: list[LedgerItem] = []
    retrained: list[int] = []
    reused: list[dict[str, Any]] = []
    emptied: list[int] = []
    changed: list[int] = []
    for shard in range(base.shards):
        same = {(i.item_id, i.fingerprint) for i in old[shard]} == {
            (i.item_id, i.fingerprint) for i in new[shard]
        }
        if same and shard not in base.dropped_shards:
            # Unchanged: every checkpoint of the shard is taken over, so attribution still works.
            items += old[shard]
            reused += [
                {**checkpoint, "reused_from": checkpoint.get("reused_from", str(base.id))}
                for checkpoint in base.checkpoints
                if checkpoint["shard"] == shard
            ]
            continue
        retrained.append(shard)
        items += new[shard]
        if not new[shard]:
            emptied.append(shard)
        if not same:
            changed.append(shard)
    return RetrainingPlan(base, requests, items, retrained, reused, emptied, changed, snapshot)


def _relied_on(plan: RetrainingPlan) -> list[dict[str, Any]]:
    donations = {str(item.donation_id) for item in plan.items}
    return [c for c in plan.snapshot.consents_relied_on if c["donation_id"] in donations]


@dataclass(frozen=True)
class RetrainingOutcome:
    """The run (None when nothing needed retraining) and the requests it served; and the
    continuation model's run, when one withdrawn for an erasure was trained again."""

    run: TrainingRun | None
    requests: list[int]
    reason: str
    continuation: TrainingRun | None = None


def retrain(
    ledger: MuseumLedger,
    *,
    job_id: str,
    now: bool = False,
    on_progress: Callable[[RunProgress], None] | None = None,
) -> RetrainingOutcome:
    """Serve the scheduled requests (those due; all pending with `now`) with one run, then
    train the continuation model again if an erasure withdrew it (`reach_continuation`)."""
    outcome = _serve_schedule(ledger, job_id=job_id, now=now, on_progress=on_progress)
    continuation = reach_continuation(ledger, job_id=job_id, on_progress=on_progress)
    return dataclasses.replace(outcome, continuation=continuation)


def reach_continuation(
    ledger: MuseumLedger,
    *,
    job_id: str,
    on_progress: Callable[[RunProgress], None] | None = None,
) -> TrainingRun | None:
    """An erasure withdraws the deployed continuation model at once (`Erasures.request`); here
    its successor is trained, with the withdrawn version's preset, seed and budget, on the
    stage pairs whose `train` consent holds now, and deployed. None when nothing was withdrawn
    or no pair is left to learn from (then no continuation model serves)."""
    from generation.process.service import train_continuation_run
    from ledger.process_records import ProcessRecords

    records = ModelRecords(ledger)
    registry = records.registry()
    withdrawn = registry.withdrawn_variants.get(CONTINUATION)
    if withdrawn is None or CONTINUATION in registry.deployed_variants:
        return None
    if not ProcessRecords(ledger).consent_pairs().items:
        return None
    base = records.get_run(withdrawn)
    return train_continuation_run(
        ledger,
        job_id=f"{job_id}:continuation",
        preset_name=str(base.config.get("preset", "tiny")),
        seed=base.seed,
        steps=int(base.config["train"]["steps"]),
        on_progress=on_progress,
    )


def _serve_schedule(
    ledger: MuseumLedger,
    *,
    job_id: str,
    now: bool,
    on_progress: Callable[[RunProgress], None] | None,
) -> RetrainingOutcome:
    records = ModelRecords(ledger)
    retraining = RetrainingRecords(ledger)
    # 1. A retried job finds its run and trains what it planned, whatever is pending now.
    run = ledger.find(TrainingRun.create_id(job_id), TrainingRun)
    if run is None:
        schedule = ledger.retraining_schedule()
        if not schedule.pending:
            return RetrainingOutcome(None, [], "no retraining is scheduled")
        if not now and not schedule.is_due(datetime.now(UTC)):
            due = schedule.due_at()
            return RetrainingOutcome(
                None, [], f"the next batch is due at {due.isoformat() if due else '?'}"
            )
        requests = schedule.numbers(schedule.pending)
        # 2. Plan against the deployed version; nothing changed means no run at all.
        try:
            plan = plan_retraining(records, requests)
        except NotFound:
            retraining.mark_unneeded(requests, "no model version is deployed")
            return RetrainingOutcome(None, requests, "no model version is deployed")
        if not plan.items:
            # 3. Nobody's stage may be learned from any more: no model is better than a stale one.
            reason = (
                f"no stage with training consent is left: model version {plan.base.id} withdrawn"
            )
            retraining.withdraw_deployed(plan.base, requests, reason)
            Erasures(ledger).settle()
            return RetrainingOutcome(None, requests, reason)
        if not plan.needed:
            reason = f"model version {plan.base.id} already matches today's consent"
            retraining.mark_unneeded(requests, reason)
            return RetrainingOutcome(None, requests, reason)
        run = retraining.start_retraining(
            job_id=job_id,
            base=plan.base,
            items=plan.items,
            consents_relied_on=_relied_on(plan),
            feedback_used=plan.snapshot.feedback_used,
            # Only the retrained shards learn under today's weights; a reused shard's stand in
            # the run that trained it.
            feedback_effects=plan.snapshot.feedback_effects(plan.items, plan.retrained),
            requests=requests,
            retrained=plan.retrained,
            reused=plan.reused,
            emptied=plan.emptied,
        )
    if run.retraining is None:
        raise Conflict(f"job {job_id} is a training run, not a retraining: use museum train")
    if run.state != "running":
        if run.state == "completed":
            Erasures(ledger).settle()  # a retry after a crash between completing and settling
        return RetrainingOutcome(run, list(run.retraining["requests"]), f"the run is {run.state}")
    return RetrainingOutcome(
        _train_planned(ledger, records, run, on_progress),
        list(run.retraining["requests"]),
        "retrained",
    )


def _train_planned(
    ledger: MuseumLedger,
    records: ModelRecords,
    run: TrainingRun,
    on_progress: Callable[[RunProgress], None] | None,
) -> TrainingRun:
    """3. Train the changed shards from scratch; 4. complete and deploy, or fail and return."""
    if run.retraining is None:
        raise Conflict(f"run {run.id} has no retraining plan")
    model_config = ModelConfig.from_dict(run.config["model"])
    train_config = TrainConfig.from_dict(run.config["train"])
    members = members_by_shard([LedgerItem.from_dict(item) for item in run.items], run.shards)
    losses: list[float] = []
    try:
        for shard in run.retraining["retrained"]:
            if shard in run.dropped_shards:
                continue
            losses.append(
                train_shard(
                    ledger,
                    records,
                    run,
                    shard,
                    members[shard],
                    model_config,
                    dataclasses.replace(train_config, seed=(run.seed + shard) % MAX_SEED),
                    on_progress,
                )
            )
        if losses:
            final = sum(losses) / len(losses)
        else:  # every changed shard was emptied: the reused shards' quality is the base's
            base = records.get_run(UUID(run.retraining["base_version"]))
            final = float(base.final_loss or 0.0)
        completed = records.complete_run(run.id, final_loss=final, deploy=True)
    except KeyShredded as exc:
        records.fail_run(run.id, f"an item was erased while the run retrained: {exc}")
        raise
    except Exception as exc:
        # Whatever stopped it (a checkpoint that does not reproduce, a lost race, a bug), the
        # run must not hold the training slot and its batch: the requests go back to pending.
        # A run the ledger failed already (a donation withdrawn meanwhile) is left as it is.
        records.fail_run(run.id, f"{type(exc).__name__}: {exc}")
        raise
    # 5. Every erasure the new version no longer holds is certified now.
    Erasures(ledger).settle()
    return completed
