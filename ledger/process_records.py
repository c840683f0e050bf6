"""Ledger side of the process continuation model: stage pairs, parents, withdrawal on erasure.

A continuation run learns the step from one stage of a donated series to the next. Its
training items are *pairs* of consecutive stages of donations whose `train` consent holds when
the run starts; a pair is recorded under the id of the stage it teaches the model to make (the
next one, `<donation>:<index>`), so its credit, royalties and erasure follow that stage exactly
as the stage model's do, and the stage it was shown is recorded beside it. A proposal names
its parent: a donated stage (donation, index and the stage's content fingerprint), an earlier
proposal (generation id and image digest) or an uploaded image (its SHA-256).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from ledger.application import MuseumLedger
from ledger.domain import Donation
from ledger.domain.model import CONTINUATION, Generation, TrainingRun
from ledger.errors import Conflict, NotFound
from ledger.model_records import ModelRecords
from ledger.training_snapshot import ConsentSnapshot, TrainingItem
from ledger.vocabulary import Purpose

__all__ = [
    "PARENT_KINDS",
    "ProcessRecords",
    "StagePair",
    "generation_parent",
    "stage_parent",
    "upload_parent",
]

PARENT_KINDS = ("stage", "generation", "upload")


@dataclass(frozen=True)
class StagePair(TrainingItem):
    """Two consecutive stages of one donation: the item is the next stage (what the model
    learns to make, and what is credited); `previous_*` the stage it is shown."""

    previous_stage_index: int = 0
    previous_role: str = ""
    previous_blob_id: str = ""
    previous_fingerprint: str = ""
    failure_type: str = ""

    def as_dict(self) -> dict[str, Any]:
        return super().as_dict() | {
            "previous_stage_index": self.previous_stage_index,
            "previous_role": self.previous_role,
            "previous_blob_id": self.previous_blob_id,
            "previous_fingerprint": self.previous_fingerprint,
            "failure_type": self.failure_type,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StagePair:
        stage = TrainingItem.from_dict(data)
        return cls(
            **{f.name: getattr(stage, f.name) for f in dataclasses.fields(TrainingItem)},
            previous_stage_index=int(data["previous_stage_index"]),
            previous_role=data["previous_role"],
            previous_blob_id=data["previous_blob_id"],
            previous_fingerprint=data["previous_fingerprint"],
            failure_type=data["failure_type"],
        )


def stage_parent(donation: Donation, stage_index: int) -> dict[str, Any]:
    stage = donation.stages[stage_index]
    return {
        "kind": "stage",
        "donation_id": str(donation.id),
        "stage_index": stage_index,
        "fingerprint": stage.fingerprint,
    }


def generation_parent(generation: Generation) -> dict[str, Any]:
    return {
        "kind": "generation",
        "generation_id": str(generation.id),
        "output_sha256": generation.output_sha256,
    }


def upload_parent(sha256: str, blob_id: str) -> dict[str, Any]:
    return {"kind": "upload", "sha256": sha256, "blob_id": blob_id}


class ProcessRecords:
    """Thin service over the ledger application; holds no state of its own."""

    def __init__(self, ledger: MuseumLedger) -> None:
        self.ledger = ledger
        self.models = ModelRecords(ledger)

    def consent_pairs(self) -> ConsentSnapshot:
        """Every pair of consecutive stages of a donation whose `train` consent holds now, and
        the consent event relied on (a one-stage donation has no pair and is not relied on)."""
        stages = self.models.consent_snapshot()
        by_stage = {(item.donation_id, item.stage_index): item for item in stages.items}
        pairs: list[TrainingItem] = []
        relied: list[dict[str, Any]] = []
        for consent in stages.consents_relied_on:
            donation = self.ledger.get_donation(UUID(consent["donation_id"]))
            if len(donation.stages) < 2:
                continue
            relied.append(consent)
            for previous, following in zip(donation.stages, donation.stages[1:], strict=False):
                item = by_stage[(donation.id, following.index)]
                fields = {f.name: getattr(item, f.name) for f in dataclasses.fields(TrainingItem)}
                pairs.append(
                    StagePair(
                        **fields,
                        previous_stage_index=previous.index,
                        previous_role=previous.role,
                        previous_blob_id=previous.blob_id,
                        previous_fingerprint=previous.fingerprint,
                        failure_type=donation.failure_type,
                    )
                )
        return ConsentSnapshot(pairs, relied, stages.feedback_used)

    def stage(self, donation_id: UUID, stage_index: int, purpose: str | None) -> Donation:
        """The donation of a stage to continue; NotFound for an unknown one, and a refusal
        when `purpose` (e.g. `exhibit`, to show its image beside the proposals) does not hold."""
        donation = self.ledger.get_donation(donation_id)
        if isinstance(stage_index, bool) or not 0 <= stage_index < len(donation.stages):
            raise NotFound(
                f"donation {donation_id} has no stage {stage_index} "
                f"(it has stages 0..{len(donation.stages) - 1})"
            )
        if purpose is not None and not donation.consent_holds(Purpose(purpose)):
            raise Conflict(
                f"donation {donation_id} has no {purpose} consent: its stage cannot be continued here"
            )
        return donation

    def deployed(self) -> TrainingRun | None:
        registry = self.models.registry()
        version = registry.deployed_variants.get(CONTINUATION)
        return None if version is None else self.models.get_run(version)

    def withdraw_holding(self, fingerprints: set[str], reason: str) -> UUID | None:
        """Withdraw the deployed continuation model if it learned from any of `fingerprints`
        (an erased donor's stages): the erasure reaches it at once, and the next continuation
        run (`generation.process.service`) learns without them. The version withdrawn, if any."""

        def withdraw() -> UUID | None:
            run = self.deployed()
            if run is None or not run.fingerprints() & fingerprints:
                return None
            registry = self.models.registry()
            registry.withdraw_variant(CONTINUATION, run.id, reason)
            self.ledger.save(registry)
            return run.id

        return self.ledger.retry(withdraw, "the model registry")
