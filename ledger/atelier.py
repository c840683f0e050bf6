"""The AI Atelier's reads: a training run as donors watch it learn — its loss curve per shard,
its sample grids, which shards it trained, reused or dropped — and which runs changed after a
position of the notification log.

Nothing is kept between calls: a watcher holds only a position (the notification id it has
seen up to), so any server process can answer the next poll, whichever process or arq worker
is training. A replay is the run's recorded progress cut at a frame: frame `k` shows the first
`k` progress records and the sample grids recorded up to them.
"""

from __future__ import annotations

import math
from typing import Any
from uuid import UUID

from ledger.application import MuseumLedger
from ledger.domain.model import TrainingRun
from ledger.errors import NotFound
from ledger.model_reads import ModelReads
from ledger.model_views import ProgressRead, RunRead
from ledger.topics import stored_topics
from ledger.views import View

# The events that change what the Atelier shows of a run (classes the `@event`s made).
RUN_EVENTS: tuple[type, ...] = (
    TrainingRun.TrainingRunStarted,
    *(
        getattr(TrainingRun, name)
        for name in (
            "TrainingProgressRecorded",
            "SampleGridRecorded",
            "RetrainingPlanned",
            "ShardDropped",
            "TrainingRunCompleted",
            "TrainingRunFailed",
        )
    ),
)
PAGE = 1000
# A watcher far behind catches up over several polls, never in one long read.
MAX_PAGES_PER_POLL = 10


class LossPointRead(View, frozen=True, kw_only=True):
    step: int
    loss: float


class ShardCurveRead(View, frozen=True, kw_only=True):
    """The losses one shard's model recorded, by step (non-finite losses left out)."""

    shard: int
    points: list[LossPointRead]


class SampleGridRead(View, frozen=True, kw_only=True):
    """A preview grid the run sampled while training; `number` is its place in the run."""

    number: int
    shard: int
    step: int


class ShardRead(View, frozen=True, kw_only=True):
    """What became of one shard: `waiting`, `training`, `trained`, `reused` (a retraining run
    took its checkpoints unchanged) or `dropped` (no item fell in it). `retrained`: trained
    again by a retraining run."""

    shard: int
    state: str
    retrained: bool
    note: str | None


class RetrainingRead(View, frozen=True, kw_only=True):
    """A retraining run's plan: the version it replaces, the erasure requests it serves."""

    base_version: str
    erasure_requests: int
    retrained: list[int]
    reused: list[int]


class FeedbackInfluenceRead(View, frozen=True, kw_only=True):
    """How visitor feedback moved one donation's place in the run, as the Atelier shows it:
    no donation or feedback id (those are compliance's report), only the shard, how many
    stages and notes, the weight, and the share of the shard's draws against the baseline."""

    shard: int
    stages: int
    notes: int
    weight: float
    share_ppm: int
    baseline_share_ppm: int


class AtelierRunRead(View, frozen=True, kw_only=True):
    """A run as the Atelier shows it, as recorded now (`frame` None) or cut at a replay frame.
    `step`/`total` count steps over all shards; `loss` is the latest loss shown; `frames` is
    how many progress records the run has (the replay's length); `feedback` what visitors'
    feedback changed in what the run saw (`FeedbackInfluenceRead`; empty when nothing)."""

    run: RunRead
    step: int
    total: int
    loss: float | None
    curves: list[ShardCurveRead]
    samples: list[SampleGridRead]
    shards: list[ShardRead]
    retraining: RetrainingRead | None
    frame: int | None
    frames: int
    feedback: list[FeedbackInfluenceRead]


class RunsChangedRead(View, frozen=True, kw_only=True):
    """The runs whose events came after a position (in the order they last changed), and the
    position the next poll starts after."""

    runs: list[str]
    position: int


def _shards(run: TrainingRun, losses: list[dict[str, Any]], *, whole: bool) -> list[ShardRead]:
    """Each shard's state in `losses` (all the run's progress when `whole`, else a replay's
    cut of it: a shard is trained there once its last step, or a later shard's, is shown)."""
    steps = int(run.config.get("train", {}).get("steps") or 0)
    last = {int(entry["shard"]): int(entry["step"]) for entry in losses}
    plan = run.retraining or {}
    reused = set(plan.get("reused", []))
    retrained = set(plan.get("retrained", []))
    latest = max(last) if last else -1
    shards = []
    for shard in range(run.shards):
        note = None
        if shard in run.dropped_shards:
            state, note = "dropped", str(run.dropped_shards[shard])
        elif shard in reused:
            state, note = "reused", f"from model version {plan.get('base_version')}"
        elif shard not in last:
            state = "trained" if whole and run.state == "completed" else "waiting"
        elif (whole and run.state == "completed") or shard < latest or last[shard] >= steps:
            state = "trained"
        else:
            state = "training"
        shards.append(ShardRead(shard=shard, state=state, retrained=shard in retrained, note=note))
    return shards


def _curves(run: TrainingRun, losses: list[dict[str, Any]]) -> list[ShardCurveRead]:
    points: dict[int, list[LossPointRead]] = {}
    for entry in losses:
        loss = float(entry["loss"])
        if math.isfinite(loss):
            points.setdefault(int(entry["shard"]), []).append(
                LossPointRead(step=int(entry["step"]), loss=loss)
            )
    return [ShardCurveRead(shard=s, points=p) for s, p in sorted(points.items())]


class Atelier:
    """Training runs as the Atelier shows them; holds no state of its own."""

    def __init__(self, ledger: MuseumLedger, model_reads: ModelReads) -> None:
        self.ledger = ledger
        self.model_reads = model_reads
        self.topics = stored_topics(*RUN_EVENTS)

    def position(self) -> int:
        """The notification log's last position: a watcher starting now waits for what comes
        after it."""
        return int(self.ledger.recorder.max_notification_id() or 0)

    def shown_run(self) -> UUID | None:
        """The run a visitor of the Atelier sees first: the one training now, else the
        deployed model version's, else none."""
        registry = self.model_reads.records.registry()
        return registry.active_run or registry.deployed

    def run(self, run_id: UUID, frame: int | None = None) -> AtelierRunRead:
        """The run as recorded now, or (`frame`) its first `frame` progress records."""
        run = self.model_reads.records.get_run(run_id)
        frames = len(run.losses)
        losses = list(run.losses)
        samples = list(enumerate(run.samples))
        if frame is not None:
            frame = max(0, min(frame, frames))
            losses = losses[:frame]
            upto = (losses[-1]["shard"], losses[-1]["step"]) if losses else (-1, -1)
            samples = [(n, s) for n, s in samples if (s["shard"], s["step"]) <= upto]
        recorded = self.model_reads.run(run_id)
        progress = recorded.progress
        if frame is not None and frame < frames:
            last: dict[int, int] = {}
            for entry in losses:
                last[entry["shard"]] = entry["step"]
            progress = ProgressRead(step=sum(last.values()), total=progress.total)
        plan = run.retraining
        return AtelierRunRead(
            run=recorded,
            step=progress.step,
            total=progress.total,
            loss=float(losses[-1]["loss"]) if losses else None,
            curves=_curves(run, losses),
            samples=[
                SampleGridRead(number=n, shard=int(s["shard"]), step=int(s["step"]))
                for n, s in samples
            ],
            shards=_shards(run, losses, whole=frame is None or frame >= frames),
            retraining=None
            if plan is None
            else RetrainingRead(
                base_version=str(plan["base_version"]),
                erasure_requests=len(plan.get("requests", [])),
                retrained=list(plan.get("retrained", [])),
                reused=list(plan.get("reused", [])),
            ),
            frame=frame,
            frames=frames,
            feedback=[
                FeedbackInfluenceRead(
                    shard=int(effect["shard"]),
                    stages=int(effect["stages"]),
                    notes=len(effect["feedback"]),
                    weight=float(effect["weight"]),
                    share_ppm=int(effect["share_ppm"]),
                    baseline_share_ppm=int(effect["baseline_share_ppm"]),
                )
                for effect in run.feedback_effects
            ],
        )

    def changed_after(self, position: int, run_id: UUID | None = None) -> RunsChangedRead:
        """The runs (only `run_id`, if given) whose events came after `position`."""
        changed: dict[UUID, None] = {}
        for _ in range(MAX_PAGES_PER_POLL):
            page = self.ledger.recorder.select_notifications(
                position, PAGE, topics=self.topics, inclusive_of_start=False
            )
            for notification in page:
                originator = UUID(str(notification.originator_id))
                if run_id is None or originator == run_id:
                    changed.pop(originator, None)
                    changed[originator] = None
            if page:
                position = int(page[-1].id)
            if len(page) < PAGE:
                break
        return RunsChangedRead(runs=[str(r) for r in changed], position=position)

    def sample_grid_png(self, run_id: UUID, number: int) -> bytes:
        """A preview grid the run sampled (generated by the model: no donor's image)."""
        run = self.model_reads.records.get_run(run_id)
        if not 0 <= number < len(run.samples):
            raise NotFound(f"training run {run_id} has no sample grid {number}")
        return self.ledger.blobs.get(run.samples[number]["blob_id"])
