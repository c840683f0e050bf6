"""Training runs, the model registry and generations: what the museum's model learned from, and made."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.domain.artist import MUSEUM_NAMESPACE
from ledger.errors import Conflict, InvalidInput

RUN_STATES = ("running", "completed", "failed")
# What a run trains: the stage model (each stage an image given its labels) or the process
# continuation model (the next stage given the previous one and the labels). Runs recorded
# before variants existed are stage runs.
STAGE = "stage"
CONTINUATION = "continuation"
VARIANTS = (STAGE, CONTINUATION)


class TrainingRun(Aggregate):
    """One training run. Its snapshot says exactly which items, with which consent, it may use.

    Progress and checkpoints are recorded by step; a retried job replays the same deterministic
    steps, so records for steps already present are ignored instead of duplicated.
    """

    class TrainingRunStarted(Aggregate.Created):
        """Version 2 adds `feedback_effects` (`ledger.feedback_effects`): which feedback moved
        which donation's weight, and its share of the draws against the unweighted baseline.
        A version 1 event (recorded before) is read with none."""

        class_version = 2
        config: dict[str, Any]
        seed: int
        shards: int
        items: list[dict[str, Any]]
        consents_relied_on: list[dict[str, Any]]
        feedback_used: list[str]
        job_id: str
        feedback_effects: list[dict[str, Any]]
        variant: str = STAGE  # absent from events recorded before variants: a stage run

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["feedback_effects"] = []

    @staticmethod
    def create_id(job_id: str) -> UUID:
        return uuid5(MUSEUM_NAMESPACE, "training-run:" + job_id)

    @event(TrainingRunStarted)
    def __init__(
        self,
        config: dict[str, Any],
        seed: int,
        shards: int,
        items: list[dict[str, Any]],
        consents_relied_on: list[dict[str, Any]],
        feedback_used: list[str],
        job_id: str,
        feedback_effects: list[dict[str, Any]],
        variant: str = STAGE,
    ) -> None:
        self.variant = variant
        self.config = config
        self.seed = seed
        self.shards = shards
        self.items = items
        self.consents_relied_on = consents_relied_on
        self.feedback_used = feedback_used
        self.job_id = job_id
        self.feedback_effects = feedback_effects
        self.state = "running"
        self.last_progress_step: dict[int, int] = {}
        self.losses: list[dict[str, Any]] = []
        self.checkpoints: list[dict[str, Any]] = []
        self.samples: list[dict[str, Any]] = []
        self.final_loss: float | None = None
        self.failure: str | None = None
        self.dropped_shards: dict[int, str] = {}
        self.retraining: dict[str, Any] | None = None

    @classmethod
    def start(
        cls,
        *,
        job_id: str,
        config: dict[str, Any],
        seed: int,
        shards: int,
        items: list[dict[str, Any]],
        consents_relied_on: list[dict[str, Any]],
        feedback_used: list[str],
        feedback_effects: list[dict[str, Any]] | None = None,
        keeps_shards: bool = False,
        variant: str = STAGE,
    ) -> TrainingRun:
        """`keeps_shards`: a retraining run keeps its base version's shard count (and so every
        item's shard), even when fewer items than shards remain. `feedback_effects`: what the
        feedback relied on changed (`ledger.feedback_effects`); none when no weight moved.
        `variant`: `VARIANTS`."""
        if variant not in VARIANTS:
            raise InvalidInput(
                f"unknown model variant {variant!r}; expected one of: {', '.join(VARIANTS)}"
            )
        if not items and variant == CONTINUATION:
            raise InvalidInput(
                "no donation with training consent has two stages: there is no step from one "
                "stage to the next to learn"
            )
        if not items:
            raise InvalidInput(
                "no donated stage has training consent: there is nothing to train on"
            )
        if shards < 1 or (shards > len(items) and not keeps_shards):
            raise InvalidInput(f"shards must be between 1 and the number of items ({len(items)})")
        if not 0 <= seed < 2**63:
            raise InvalidInput("the seed must be between 0 and 2**63 - 1")
        return cls(
            job_id=job_id,
            config=config,
            seed=seed,
            shards=shards,
            items=items,
            consents_relied_on=consents_relied_on,
            feedback_used=feedback_used,
            feedback_effects=list(feedback_effects or []),
            variant=variant,
        )

    def check_running(self) -> None:
        if self.state != "running":
            raise Conflict(f"training run {self.id} is {self.state}")

    def record_progress(self, shard: int, step: int, loss: float) -> bool:
        self.check_running()
        if step <= self.last_progress_step.get(shard, -1):
            return False
        self._record_progress(shard=shard, step=step, loss=loss)
        return True

    @event("TrainingProgressRecorded")
    def _record_progress(self, shard: int, step: int, loss: float) -> None:
        self.last_progress_step[shard] = step
        self.losses.append({"shard": shard, "step": step, "loss": loss})

    def record_sample_grid(self, shard: int, step: int, blob_id: str) -> bool:
        self.check_running()
        if any(s["shard"] == shard and s["step"] == step for s in self.samples):
            return False
        self._record_sample_grid(shard=shard, step=step, blob_id=blob_id)
        return True

    @event("SampleGridRecorded")
    def _record_sample_grid(self, shard: int, step: int, blob_id: str) -> None:
        self.samples.append({"shard": shard, "step": step, "blob_id": blob_id})

    def record_checkpoint(self, shard: int, step: int, checkpoint_hash: str, blob_id: str) -> bool:
        self.check_running()
        for known in self.checkpoints:
            if known["shard"] == shard and known["step"] == step:
                if known["hash"] != checkpoint_hash:
                    raise Conflict(
                        f"checkpoint of shard {shard} at step {step} differs from the one recorded: "
                        "training is not reproducing; the run must be failed, not overwritten"
                    )
                return False
        self._record_checkpoint(
            shard=shard, step=step, checkpoint_hash=checkpoint_hash, blob_id=blob_id
        )
        return True

    @event("CheckpointSaved")
    def _record_checkpoint(self, shard: int, step: int, checkpoint_hash: str, blob_id: str) -> None:
        self.checkpoints.append(
            {"shard": shard, "step": step, "hash": checkpoint_hash, "blob_id": blob_id}
        )

    def final_checkpoints(self) -> list[dict[str, Any]]:
        """The last checkpoint of every shard, in shard order: what the model version is made of."""
        last: dict[int, dict[str, Any]] = {}
        for checkpoint in self.checkpoints:
            if (
                checkpoint["shard"] not in last
                or checkpoint["step"] > last[checkpoint["shard"]]["step"]
            ):
                last[checkpoint["shard"]] = checkpoint
        return [last[shard] for shard in sorted(last)]

    def drop_shard(self, shard: int, reason: str) -> bool:
        """A shard left with no items has no model: the ensemble goes on without it."""
        self.check_running()
        if not 0 <= shard < self.shards:
            raise InvalidInput(f"run {self.id} has no shard {shard}")
        if shard in self.dropped_shards:
            return False
        if any(c["shard"] == shard for c in self.checkpoints):
            raise Conflict(f"shard {shard} of run {self.id} has checkpoints: it cannot be dropped")
        self._drop_shard(shard=shard, reason=reason[:500])
        return True

    @event("ShardDropped")
    def _drop_shard(self, shard: int, reason: str) -> None:
        self.dropped_shards[shard] = reason

    def plan_retraining(
        self,
        *,
        base_version: UUID,
        requests: list[int],
        retrained: list[int],
        reused: list[dict[str, Any]],
    ) -> None:
        """A retraining run: which shards it trains again, and which final checkpoints (with
        every earlier checkpoint of those shards, for attribution) it takes unchanged from the
        version it replaces. Recorded in the run's first save, before any training."""
        self.check_running()
        if self.retraining is not None:
            raise Conflict(f"run {self.id} is already planned")
        shards = set(retrained) | {c["shard"] for c in reused}
        if shards != set(range(self.shards)) or set(retrained) & {c["shard"] for c in reused}:
            raise InvalidInput("every shard must be either retrained or reused, never both")
        self._plan_retraining(
            base_version=base_version, requests=requests, retrained=retrained, reused=reused
        )

    @event("RetrainingPlanned")
    def _plan_retraining(
        self,
        base_version: UUID,
        requests: list[int],
        retrained: list[int],
        reused: list[dict[str, Any]],
    ) -> None:
        self.retraining = {
            "base_version": str(base_version),
            "requests": list(requests),
            "retrained": sorted(retrained),
            "reused": sorted({c["shard"] for c in reused}),
        }
        for checkpoint in reused:
            self.checkpoints.append(dict(checkpoint))

    def complete(self, final_loss: float) -> None:
        self.check_running()
        shards_with_checkpoints = {c["shard"] for c in self.checkpoints}
        if shards_with_checkpoints | set(self.dropped_shards) != set(range(self.shards)):
            raise Conflict("a run completes only when every shard has a checkpoint or is dropped")
        if not shards_with_checkpoints:
            raise Conflict("a run with every shard dropped has no model to complete")
        self._complete(final_loss=final_loss)

    @event("TrainingRunCompleted")
    def _complete(self, final_loss: float) -> None:
        self.state = "completed"
        self.final_loss = final_loss

    def fail(self, reason: str) -> None:
        self.check_running()
        self._fail(reason=reason[:2000] or "unknown failure")

    @event("TrainingRunFailed")
    def _fail(self, reason: str) -> None:
        self.state = "failed"
        self.failure = reason

    def item_ids(self) -> list[str]:
        return [item["item_id"] for item in self.items]

    def fingerprints(self) -> set[str]:
        """Content fingerprints of every stage the run's models learned from (for a continuation
        run both stages of each pair: the one it was shown and the one it learned to make)."""
        return {item["fingerprint"] for item in self.items} | {
            item["previous_fingerprint"] for item in self.items if "previous_fingerprint" in item
        }


class ModelRegistry(Aggregate):
    """The one registry: which run is training now, which model versions exist, which is deployed."""

    REGISTRY_ID = uuid5(MUSEUM_NAMESPACE, "model-registry")

    @staticmethod
    def create_id() -> UUID:
        return ModelRegistry.REGISTRY_ID

    @event("ModelRegistryOpened")
    def __init__(self) -> None:
        self.active_run: UUID | None = None
        self.versions: list[UUID] = []
        self.deployed: UUID | None = None
        # Models of other variants than the stage model, deployed apart from it (by variant).
        self.deployed_variants: dict[str, UUID] = {}
        # The version of a variant withdrawn (for an erasure), until one of it is deployed again.
        self.withdrawn_variants: dict[str, UUID] = {}

    def begin(self, run_id: UUID) -> None:
        if self.active_run is not None and self.active_run != run_id:
            raise Conflict(
                f"training run {self.active_run} is already running; wait for it to finish"
            )
        if self.active_run is None:
            self._begin(run_id=run_id)

    @event("TrainingSlotTaken")
    def _begin(self, run_id: UUID) -> None:
        self.active_run = run_id

    def end(self, run_id: UUID, *, completed: bool) -> None:
        if self.active_run != run_id:
            raise Conflict(f"training run {run_id} does not hold the training slot")
        self._end(run_id=run_id, completed=completed)

    @event("TrainingSlotReleased")
    def _end(self, run_id: UUID, completed: bool) -> None:
        self.active_run = None
        if completed:
            self.versions.append(run_id)

    def deploy(self, run_id: UUID) -> None:
        if run_id not in self.versions:
            raise InvalidInput(
                f"unknown model version {run_id}: only completed runs can be deployed"
            )
        if self.deployed != run_id:
            self._deploy(run_id=run_id)

    @event("ModelDeployed")
    def _deploy(self, run_id: UUID) -> None:
        self.deployed = run_id

    def withdraw(self, run_id: UUID, reason: str) -> None:
        """No model is deployed any more: every item the version learned from has left, and a
        model of nothing cannot be trained. Generating waits for the next training."""
        if self.deployed != run_id:
            raise Conflict(f"model version {run_id} is not the deployed one")
        self._withdraw(run_id=run_id, reason=reason[:500])

    @event("ModelWithdrawn")
    def _withdraw(self, run_id: UUID, reason: str) -> None:
        self.deployed = None

    def deploy_variant(self, variant: str, run_id: UUID) -> None:
        """Deploy a model of another variant than the stage model (`VARIANTS`); the stage
        model's deployment is untouched."""
        if variant not in VARIANTS or variant == STAGE:
            raise InvalidInput(f"deploy_variant is for {', '.join(VARIANTS[1:])}, not {variant!r}")
        if run_id not in self.versions:
            raise InvalidInput(
                f"unknown model version {run_id}: only completed runs can be deployed"
            )
        if self.deployed_variants.get(variant) != run_id:
            self._deploy_variant(variant=variant, run_id=run_id)

    @event("ModelVariantDeployed")
    def _deploy_variant(self, variant: str, run_id: UUID) -> None:
        self.deployed_variants[variant] = run_id
        self.withdrawn_variants.pop(variant, None)

    def withdraw_variant(self, variant: str, run_id: UUID, reason: str) -> None:
        """The deployed model of `variant` serves no more (e.g. it learned from an erased
        donor's stages); proposals wait for the next training of that variant."""
        if self.deployed_variants.get(variant) != run_id:
            raise Conflict(f"model version {run_id} is not the deployed {variant} model")
        self._withdraw_variant(variant=variant, run_id=run_id, reason=reason[:500])

    @event("ModelVariantWithdrawn")
    def _withdraw_variant(self, variant: str, run_id: UUID, reason: str) -> None:
        del self.deployed_variants[variant]
        self.withdrawn_variants[variant] = run_id


class Generation(Aggregate):
    """An image the museum's model made, and everything needed to make it again."""

    class GenerationMade(Aggregate.Created):
        model_version: UUID
        checkpoint_hashes: list[str]
        seed: int
        steps: int
        conditioning: dict[str, str]
        blob_id: str
        output_sha256: str
        job_id: str
        # What a proposal continues (`ledger.model_records.parent_*`); absent before proposals.
        parent: dict[str, Any] | None = None

    @staticmethod
    def create_id(job_id: str) -> UUID:
        return uuid5(MUSEUM_NAMESPACE, "generation:" + job_id)

    @event(GenerationMade)
    def __init__(
        self,
        model_version: UUID,
        checkpoint_hashes: list[str],
        seed: int,
        steps: int,
        conditioning: dict[str, str],
        blob_id: str,
        output_sha256: str,
        job_id: str,
        parent: dict[str, Any] | None = None,
    ) -> None:
        self.parent = parent
        self.model_version = model_version
        self.checkpoint_hashes = checkpoint_hashes
        self.seed = seed
        self.steps = steps
        self.conditioning = conditioning
        self.blob_id = blob_id
        self.output_sha256 = output_sha256
        self.job_id = job_id
