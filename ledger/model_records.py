"""Ledger service for the model: consent snapshots, runs, checkpoints, deployment, generations.

Everything here is keyed by job id, so a job that is retried after its worker died records each
fact once: the run, its progress by step, its checkpoints by (shard, step), the generation.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEvent

from ledger.application import MuseumLedger
from ledger.domain import Donation, Feedback
from ledger.domain.donation import consent_at
from ledger.domain.model import STAGE, Generation, ModelRegistry, TrainingRun
from ledger.erasures import Erasures
from ledger.errors import Conflict, InvalidInput, NotFound
from ledger.model_views import ItemConsentRead
from ledger.shards import assign_shards
from ledger.training_snapshot import ConsentSnapshot, TrainingItem, feedback_weight
from ledger.validation import key
from ledger.views import ErasureRead
from ledger.vocabulary import Emotion, FailureType, Purpose, StageRole, parse


class ModelRecords:
    """Thin service over the ledger application; holds no state of its own."""

    def __init__(self, ledger: MuseumLedger) -> None:
        self.ledger = ledger

    # --- reading the collection -------------------------------------------------------------

    def donation_ids(self) -> list[UUID]:
        return self.ledger.ids_with_topic(Donation.DonationMade)

    def _feedback_by_donation(self) -> dict[UUID, list[dict[str, Any]]]:
        """Each donation's feedback events, oldest first: id, stage and when it was given."""
        by_donation: dict[UUID, list[dict[str, Any]]] = {}
        for feedback_id in self.ledger.ids_with_topic(Feedback.FeedbackGiven):
            feedback: object = self.ledger.repository.get(feedback_id)
            if isinstance(feedback, Feedback) and feedback.target_kind == "donation":
                by_donation.setdefault(feedback.target_id, []).append(
                    {
                        "feedback_id": str(feedback_id),
                        "stage_index": feedback.stage_index,
                        "at": feedback.created_on.isoformat(),
                    }
                )
        return by_donation

    def consent_snapshot(self) -> ConsentSnapshot:
        """Every stage whose donation has `train` consent now, and the consent event relied on."""
        feedback = self._feedback_by_donation()
        items: list[TrainingItem] = []
        relied: list[dict[str, Any]] = []
        used: list[str] = []
        given: dict[str, list[dict[str, Any]]] = {}
        for donation_id in self.donation_ids():
            donation = self.ledger.get_donation(donation_id)
            if not donation.consent_holds(Purpose.TRAIN):
                continue
            relied.append(self._consent_event(donation_id))
            notes = feedback.get(donation_id, [])
            used += [note["feedback_id"] for note in notes]
            if notes:
                given[str(donation_id)] = notes
            for stage in donation.stages:
                items.append(
                    TrainingItem(
                        item_id=f"{donation_id}:{stage.index}",
                        donation_id=donation_id,
                        stage_index=stage.index,
                        artist_id=donation.artist_id,
                        role=stage.role,
                        emotion=donation.emotion,
                        blob_id=stage.blob_id,
                        fingerprint=stage.fingerprint,
                        weight=feedback_weight(len(notes)),
                    )
                )
        return ConsentSnapshot(items, relied, sorted(used), given)

    def _consent_event(self, donation_id: UUID) -> dict[str, Any]:
        """The last event that made `train` consent hold: what the run relies on."""
        relied: DomainEvent | None = None
        for domain_event in self.ledger.events.get(donation_id):
            made = (
                isinstance(domain_event, Donation.DonationMade)
                and Purpose.TRAIN in domain_event.consents
            )
            granted = (
                isinstance(domain_event, Donation.ConsentGranted)
                and domain_event.purpose == Purpose.TRAIN
            )
            if made or granted:
                relied = domain_event  # type: ignore[assignment]
        if relied is None:
            raise Conflict(f"donation {donation_id} has no train consent to rely on")
        return {
            "donation_id": str(donation_id),
            "event": type(relied).__name__,
            "version": relied.originator_version,
            "at": relied.timestamp.isoformat(),
        }

    # --- runs -------------------------------------------------------------------------------

    def registry(self) -> ModelRegistry:
        return self.ledger.find(ModelRegistry.REGISTRY_ID, ModelRegistry) or ModelRegistry()

    def start_run(
        self,
        *,
        job_id: str,
        config: dict[str, Any],
        seed: int,
        shards: int,
        variant: str = STAGE,
        snapshot: ConsentSnapshot | None = None,
    ) -> TrainingRun:
        """Snapshot consented items (or take the `snapshot` given: a continuation run's stage
        pairs, `ledger.process_records`) and take the training slot; a retried job gets its run
        back."""
        job_id = key(job_id, "job id")
        existing = self.ledger.find(TrainingRun.create_id(job_id), TrainingRun)
        if existing is not None:
            return existing
        snapshot = self.consent_snapshot() if snapshot is None else snapshot

        def start() -> TrainingRun:
            raced = self.ledger.find(TrainingRun.create_id(job_id), TrainingRun)
            if raced is not None:
                return raced  # a concurrent copy of this job started it
            sharded = assign_shards(snapshot.items, shards)
            run = TrainingRun.start(
                job_id=job_id,
                config=config,
                seed=seed,
                shards=shards,
                items=[item.as_dict() for item in sharded],
                consents_relied_on=snapshot.consents_relied_on,
                feedback_used=snapshot.feedback_used,
                feedback_effects=snapshot.feedback_effects(sharded),
                variant=variant,
            )
            registry = self.registry()
            registry.begin(run.id)
            self.ledger.save(run, registry)
            return run

        return self.ledger.retry(start, "the model registry")

    def drop_shard(self, run_id: UUID, shard: int, reason: str) -> None:
        def drop() -> None:
            run = self.get_run(run_id)
            if run.drop_shard(shard, reason):
                self.ledger.save(run)

        self.ledger.retry(drop, f"training run {run_id}")

    def get_run(self, run_id: UUID) -> TrainingRun:
        return self.ledger.get_aggregate(run_id, TrainingRun, "training run or model version")

    def record_progress(self, run_id: UUID, shard: int, step: int, loss: float) -> None:
        def record() -> None:
            run = self.get_run(run_id)
            if run.record_progress(shard, step, loss):
                self.ledger.save(run)

        self.ledger.retry(record, f"training run {run_id}")

    def record_sample_grid(self, run_id: UUID, shard: int, step: int, png: bytes) -> None:
        def record() -> None:
            run = self.get_run(run_id)
            blob_id, _ = self.ledger.blobs.put(png)  # content-addressed: a retry adds nothing
            if run.record_sample_grid(shard, step, blob_id):
                self.ledger.save(run)

        self.ledger.retry(record, f"training run {run_id}")

    def record_checkpoint(
        self, run_id: UUID, shard: int, step: int, checkpoint_hash: str, payload: bytes
    ) -> None:
        def record() -> None:
            run = self.get_run(run_id)
            blob_id, _ = self.ledger.blobs.put(payload)  # content-addressed: a retry adds nothing
            if run.record_checkpoint(shard, step, checkpoint_hash, blob_id):
                self.ledger.save(run)

        self.ledger.retry(record, f"training run {run_id}")

    def complete_run(self, run_id: UUID, final_loss: float, *, deploy: bool = True) -> TrainingRun:
        """Complete the run as a model version (deployed by default) and settle the retraining
        batch it serves, in one save. A run holding a donation withdrawn meanwhile fails
        instead; one that is deployed while some of its donations have lost `train` consent
        since it started owes them a retraining, requested in the same save."""

        def complete() -> TrainingRun:
            run = self.get_run(run_id)
            if run.state == "completed":
                return run
            donations = {
                donation_id: self.ledger.get_donation(UUID(donation_id))
                for donation_id in dict.fromkeys(item["donation_id"] for item in run.items)
            }
            withdrawn = sorted(d for d, donation in donations.items() if donation.withdrawn)
            if withdrawn:
                # The run may hold their images in memory already: it must not become a model.
                self._fail(run_id, f"donations withdrawn during training: {', '.join(withdrawn)}")
                raise Conflict(
                    f"run {run_id} failed: {len(withdrawn)} of its donations were withdrawn"
                )
            run.complete(final_loss)
            registry = self.registry()
            registry.end(run_id, completed=True)
            schedule = self.ledger.retraining_schedule()
            changed = schedule.settle_run(str(run_id), served=True)
            if deploy and run.variant != STAGE:
                registry.deploy_variant(run.variant, run_id)
            elif deploy:
                registry.deploy(run_id)
                revoked = [
                    d
                    for d, donation in donations.items()
                    if not donation.consent_holds(Purpose.TRAIN)
                ]
                changed = schedule.owe_revoked(revoked, self.ledger.retrain_window) or changed
            self.ledger.save(run, registry, *([schedule] if changed else []))
            return run

        return self.ledger.retry(complete, f"training run {run_id} or the model registry")

    def fail_run(self, run_id: UUID, reason: str) -> None:
        self.ledger.retry(
            lambda: self._fail(run_id, reason), f"training run {run_id} or the model registry"
        )

    def _fail(self, run_id: UUID, reason: str) -> None:
        """One try at failing the run: callers retry it (alone, or inside their own closure)."""
        run = self.get_run(run_id)
        if run.state != "running":
            return
        run.fail(reason)
        registry = self.registry()
        registry.end(run_id, completed=False)
        schedule = self.ledger.retraining_schedule()
        changed = schedule.settle_run(str(run_id), served=False, reason=reason)
        self.ledger.save(run, registry, *([schedule] if changed else []))

    def deploy(self, run_id: UUID) -> None:
        """Deploy a model version; a retired one (`check_not_retired`) is refused."""

        def deploy() -> None:
            registry = self.registry()
            variant = self.get_run(run_id).variant if run_id in registry.versions else STAGE
            deployed = registry.deployed_variants.get(variant, registry.deployed)
            if run_id in registry.versions and deployed != run_id:
                self.check_not_retired(self.get_run(run_id))
            if variant == STAGE:
                registry.deploy(run_id)
            else:  # a continuation model is deployed beside the stage model, not instead
                registry.deploy_variant(variant, run_id)
            self.ledger.save(registry)

        self.ledger.retry(deploy, "the model registry")

    def model_version(self, version: UUID | None = None, *, variant: str = STAGE) -> TrainingRun:
        """A completed run of `variant` by id, or the deployed one of that variant."""
        registry = self.registry()
        deployed = (
            registry.deployed if variant == STAGE else registry.deployed_variants.get(variant)
        )
        if version is None:
            if deployed is None:
                how = "museum train" + ("" if variant == STAGE else f" --variant {variant}")
                what = "model" if variant == STAGE else f"{variant} model"
                raise NotFound(f"no {what} version is deployed yet: train one first ({how})")
            return self.get_run(deployed)  # the deployed version serves until it is replaced
        run = self.get_run(version)
        if run.state != "completed":
            raise InvalidInput(f"run {version} is {run.state}, not a usable model version")
        if run.variant != variant:
            raise InvalidInput(f"run {version} is a {run.variant} model, not a {variant} model")
        if version != deployed:
            self.check_not_retired(run)
        return run

    def check_not_retired(self, run: TrainingRun) -> None:
        """A version that is not deployed serves only while every item it learned from still
        has training consent: one a donor has left (or taken back) is retired."""
        for donation_id in dict.fromkeys(item["donation_id"] for item in run.items):
            if not self.ledger.get_donation(UUID(donation_id)).consent_holds(Purpose.TRAIN):
                raise Conflict(
                    f"model version {run.id} is retired: donation {donation_id} it learned from "
                    "no longer has training consent; use the deployed version"
                )

    def audit_run(self, run_id: UUID) -> list[ItemConsentRead]:
        """For compliance: did every item of the run have `train` consent when the run started?"""
        run = self.get_run(run_id)
        started = run.created_on
        findings: list[ItemConsentRead] = []
        for item in run.items:
            donation_id = UUID(item["donation_id"])
            held = consent_at(
                (e for e in self.ledger.events.get(donation_id) if isinstance(e, DomainEvent)),
                Purpose.TRAIN,
                started,
            )
            findings.append(ItemConsentRead(item_id=item["item_id"], train_consent_at_start=held))
        return findings

    # --- erasure ----------------------------------------------------------------------------

    def erase_artist(self, artist_id: UUID, reason: str) -> ErasureRead:
        """Erase (`ledger.erasures.Erasures.request`): complete at once if no model holds the
        artist's stages, else open until the deployed version is retrained."""
        return Erasures(self.ledger).request(artist_id, reason)

    def erasure_status(self, artist_id: UUID) -> ErasureRead:
        return Erasures(self.ledger).status(artist_id)

    # --- generations ------------------------------------------------------------------------

    def record_generation(
        self,
        *,
        job_id: str,
        run: TrainingRun,
        seed: int,
        steps: int,
        role: str,
        emotion: str,
        png: bytes,
        failure_type: str | None = None,
        parent: dict[str, Any] | None = None,
    ) -> Generation:
        """Record an image; a proposal of the continuation model also names the failure type
        it was conditioned on and its `parent` (`ledger.process_records`)."""
        job_id = key(job_id, "job id")
        existing = self.find_generation(job_id)
        if existing is not None:
            return existing
        conditioning = {
            "role": parse(StageRole, role, "stage role"),
            "emotion": parse(Emotion, emotion, "emotion"),
        }
        if failure_type is not None:
            conditioning["failure_type"] = parse(FailureType, failure_type, "failure type")
        blob_id, _ = self.ledger.blobs.put(png)

        def record() -> Generation:
            raced = self.find_generation(job_id)
            if raced is not None:
                return raced  # a concurrent copy of this job recorded it first
            generation = Generation(
                job_id=job_id,
                model_version=run.id,
                checkpoint_hashes=[c["hash"] for c in run.final_checkpoints()],
                seed=seed,
                steps=steps,
                conditioning=conditioning,
                blob_id=blob_id,
                output_sha256=hashlib.sha256(png).hexdigest(),
                parent=parent,
            )
            self.ledger.save(generation)
            return generation

        return self.ledger.retry(record, f"generation of job {job_id}")

    def find_generation(self, job_id: str) -> Generation | None:
        return self.ledger.find(Generation.create_id(job_id), Generation)

    def get_generation(self, generation_id: UUID) -> Generation:
        return self.ledger.get_aggregate(generation_id, Generation, "generation")

    def generations(self) -> list[UUID]:
        return self.ledger.ids_with_topic(Generation.GenerationMade)

    def training_history(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for run_id in self.ledger.ids_with_topic(TrainingRun.TrainingRunStarted):
            counts[self.get_run(run_id).state] += 1
        return counts
