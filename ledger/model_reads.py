"""Reading the model's records as views: runs, model versions, generations, page by page.

A page is a keyset query on the event log: the events that created runs (or generations), in
log order, after the notification id that ended the previous page. The cursor is that id, so a
page never shifts when new runs start meanwhile.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from ledger.application import MuseumLedger
from ledger.domain.model import Generation, ModelRegistry, TrainingRun
from ledger.errors import InvalidInput, NotFound
from ledger.model_records import ModelRecords
from ledger.model_views import (
    CheckpointRead,
    GenerationRead,
    ModelVersionRead,
    ParentRead,
    ProgressRead,
    RunRead,
)
from ledger.topics import stored_topics

MAX_CURSOR_DIGITS = 19


def parent_read(parent: dict[str, Any] | None) -> ParentRead | None:
    """The view of a generation's recorded parent (an upload's blob id stays inside)."""
    if parent is None:
        return None
    return ParentRead(**{k: v for k, v in parent.items() if k != "blob_id"})


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _after(cursor: str | None) -> int | None:
    """The notification id a cursor names; anything else is refused."""
    if cursor is None:
        return None
    if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > MAX_CURSOR_DIGITS:
        raise InvalidInput(f"cursor {cursor[:40]!r} is not one this list gave; pass `cursor` back")
    return int(cursor)


def _position(cursor: str | None, size: int) -> int:
    """Where a page of a short in-memory list starts: the cursor is the index to start at."""
    start = _after(cursor)
    if start is None:
        return 0
    if start > size:
        raise InvalidInput(f"cursor {cursor!r} is past the end of the list")
    return start


def run_progress(run: TrainingRun) -> ProgressRead:
    """Steps done over the shards the run trains (not those it dropped, nor a retraining's
    reused ones), from the progress the run recorded (either mode writes it)."""
    steps = run.config.get("train", {}).get("steps")
    reused = set(run.retraining["reused"]) if run.retraining else set()
    trained = [s for s in range(run.shards) if s not in run.dropped_shards and s not in reused]
    total = int(steps) * len(trained) if steps is not None else 0
    if run.state == "completed":
        return ProgressRead(step=total, total=total)
    done = sum(run.last_progress_step.values())
    return ProgressRead(step=min(done, total) if total else done, total=total)


class ModelReads:
    """Views of training runs, model versions and generations; holds no state of its own."""

    def __init__(self, ledger: MuseumLedger) -> None:
        self.ledger = ledger
        self.records = ModelRecords(ledger)

    def _page(
        self, event_class: type, cursor: str | None, limit: int
    ) -> tuple[list[UUID], str | None]:
        start = _after(cursor)
        found = self.ledger.recorder.select_notifications(
            start, limit + 1, topics=stored_topics(event_class), inclusive_of_start=start is None
        )
        rows = list(found[:limit])
        more = len(found) > limit
        ids = [UUID(str(row.originator_id)) for row in rows]
        return ids, str(rows[-1].id) if more and rows else None

    # --- runs -------------------------------------------------------------------------------

    def run(self, run_id: UUID) -> RunRead:
        return self._run_read(self.records.get_run(run_id), self.records.registry())

    def _run_read(self, run: TrainingRun, registry: ModelRegistry) -> RunRead:
        losses = run.losses
        return RunRead(
            run_id=str(run.id),
            state=run.state,
            preset=run.config.get("preset"),
            seed=run.seed,
            shards=run.shards,
            steps=run.config.get("train", {}).get("steps"),
            items=len(run.items),
            progress=run_progress(run),
            loss=float(losses[-1]["loss"]) if losses else None,
            final_loss=run.final_loss,
            checkpoints=[
                CheckpointRead(shard=c["shard"], step=c["step"], sha256=c["hash"])
                for c in run.checkpoints
            ],
            deployed=run.id in (registry.deployed, *registry.deployed_variants.values()),
            started_at=_iso(run.created_on),
            updated_at=_iso(run.modified_on),
            failure=run.failure,
            variant=run.variant,
        )

    def runs(self, cursor: str | None, limit: int) -> tuple[list[RunRead], str | None]:
        """Runs in the order they started, `limit` at a time."""
        ids, following = self._page(TrainingRun.TrainingRunStarted, cursor, limit)
        registry = self.records.registry()
        return [self._run_read(self.records.get_run(i), registry) for i in ids], following

    def progress_of_job(self, job_id: str) -> ProgressRead | None:
        """A training job's progress, from its run's records; None before the run starts."""
        run = self.ledger.find(TrainingRun.create_id(job_id), TrainingRun)
        return None if run is None else run_progress(run)

    # --- model versions ---------------------------------------------------------------------

    def _version_read(self, run: TrainingRun, registry: ModelRegistry) -> ModelVersionRead:
        return ModelVersionRead(
            version=str(run.id),
            preset=run.config.get("preset"),
            items=len(run.items),
            shards=run.shards,
            final_loss=run.final_loss,
            completed_at=_iso(run.modified_on),
            deployed=run.id in (registry.deployed, *registry.deployed_variants.values()),
            variant=run.variant,
        )

    def versions(self, cursor: str | None, limit: int) -> tuple[list[ModelVersionRead], str | None]:
        """Model versions (completed runs) in the order they completed."""
        registry = self.records.registry()
        start = _position(cursor, len(registry.versions))
        chosen = registry.versions[start : start + limit]
        views = [self._version_read(self.records.get_run(v), registry) for v in chosen]
        end = start + len(chosen)
        return views, str(end) if end < len(registry.versions) else None

    def deployed(self) -> ModelVersionRead:
        registry = self.records.registry()
        if registry.deployed is None:
            raise NotFound("no model version is deployed yet: train one first")
        return self._version_read(self.records.get_run(registry.deployed), registry)

    # --- generations ------------------------------------------------------------------------

    def generation(self, generation_id: UUID) -> GenerationRead:
        return self._generation_read(self.records.get_generation(generation_id))

    def _generation_read(self, generation: Generation) -> GenerationRead:
        return GenerationRead(
            generation_id=str(generation.id),
            model_version=str(generation.model_version),
            checkpoint_hashes=list(generation.checkpoint_hashes),
            role=generation.conditioning["role"],
            emotion=generation.conditioning["emotion"],
            seed=generation.seed,
            steps=generation.steps,
            output_sha256=generation.output_sha256,
            made_at=_iso(generation.created_on),
            failure_type=generation.conditioning.get("failure_type"),
            parent=parent_read(generation.parent),
        )

    def generations(
        self, cursor: str | None, limit: int
    ) -> tuple[list[GenerationRead], str | None]:
        """Generations in the order they were made, `limit` at a time."""
        ids, following = self._page(Generation.GenerationMade, cursor, limit)
        return [self.generation(i) for i in ids], following

    def generation_png(self, generation_id: UUID) -> bytes:
        """The generated image (PNG): it holds no donor's image or identity."""
        return self.ledger.blobs.get(self.records.get_generation(generation_id).blob_id)
