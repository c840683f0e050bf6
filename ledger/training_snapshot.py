"""What a training run sees: its items (donated stages with weights) and the consent snapshot.

Plain frozen values, written by `ModelRecords.consent_snapshot` (and the continuation model's
pairs, `ledger.process_records`) and recorded with the run's start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from ledger.feedback_effects import feedback_effects

__all__ = ["ConsentSnapshot", "TrainingItem", "feedback_weight"]

FEEDBACK_WEIGHT_STEP = 0.5
FEEDBACK_WEIGHT_CAP = 3.0


@dataclass(frozen=True)
class TrainingItem:
    """A donated stage as a training run sees it. `weight` comes from process feedback."""

    item_id: str
    donation_id: UUID
    stage_index: int
    artist_id: UUID
    role: str
    emotion: str
    blob_id: str
    fingerprint: str
    weight: float
    shard: int | None = None  # recorded by the run (`ledger.shards`); None in a bare snapshot

    def as_dict(self) -> dict[str, Any]:
        shard = {} if self.shard is None else {"shard": self.shard}
        return shard | {
            "item_id": self.item_id,
            "donation_id": str(self.donation_id),
            "stage_index": self.stage_index,
            "artist_id": str(self.artist_id),
            "role": self.role,
            "emotion": self.emotion,
            "blob_id": self.blob_id,
            "fingerprint": self.fingerprint,
            "weight": self.weight,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingItem:
        return cls(
            item_id=data["item_id"],
            donation_id=UUID(data["donation_id"]),
            stage_index=int(data["stage_index"]),
            artist_id=UUID(data["artist_id"]),
            role=data["role"],
            emotion=data["emotion"],
            blob_id=data["blob_id"],
            fingerprint=data["fingerprint"],
            weight=float(data["weight"]),
            shard=None if data.get("shard") is None else int(data["shard"]),
        )


@dataclass(frozen=True)
class ConsentSnapshot:
    """`feedback_given`: donation id → the feedback events its weight relies on, each
    `{"feedback_id", "stage_index", "at"}` (what `ledger.feedback_effects` records)."""

    items: list[TrainingItem]
    consents_relied_on: list[dict[str, Any]]
    feedback_used: list[str]
    feedback_given: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def feedback_effects(
        self, items: list[TrainingItem], trained_shards: list[int] | None = None
    ) -> list[dict[str, Any]]:
        """What the feedback changed for these (sharded) items of the snapshot."""
        return feedback_effects(
            [item.as_dict() for item in items], self.feedback_given, trained_shards=trained_shards
        )


def feedback_weight(feedback_count: int) -> float:
    """Stages of a donation that received process feedback are seen more often, up to 3×."""
    return min(FEEDBACK_WEIGHT_CAP, 1.0 + FEEDBACK_WEIGHT_STEP * feedback_count)
