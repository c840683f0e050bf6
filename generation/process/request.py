"""What a caller asks the continuation model for, checked without torch (before a job is queued)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from ledger.errors import InvalidInput

__all__ = ["MAX_COUNT", "ContinueRequest"]

MAX_COUNT = 16
# generation.sampling's MAX_SEED and MAX_INFERENCE_STEPS, here without importing torch.
_MAX_SEED = 2**63 - 1
_MAX_STEPS = 1000


@dataclass(frozen=True)
class ContinueRequest:
    """What to continue (a donated stage, or an uploaded image with its labels) and how."""

    donation_id: UUID | None = None
    stage_index: int | None = None
    image: bytes | None = None
    role: str | None = None
    failure_type: str | None = None
    emotion: str | None = None
    next_role: str | None = None
    count: int = 4
    to_final: bool = False
    seed: int = 0
    steps: int = 50
    version: UUID | None = None

    def check(self) -> None:
        """Refuse what needs no ledger to refuse."""
        if isinstance(self.count, bool) or not 1 <= self.count <= MAX_COUNT:
            raise InvalidInput(f"count must be between 1 and {MAX_COUNT}, got {self.count}")
        if not 1 <= self.steps <= _MAX_STEPS:
            raise InvalidInput(f"steps must be between 1 and {_MAX_STEPS}")
        if not 0 <= self.seed <= _MAX_SEED - MAX_COUNT:
            raise InvalidInput(f"the seed must be between 0 and {_MAX_SEED - MAX_COUNT}")
        if (self.donation_id is None) == (self.image is None):
            raise InvalidInput("continue either a donated stage or an uploaded image, not both")
        if self.donation_id is not None and self.stage_index is None:
            raise InvalidInput("name the stage of the donation to continue (--stage N)")
        if self.image is not None:
            labels = (
                (self.role, "role"),
                (self.failure_type, "failure type"),
                (self.emotion, "emotion"),
            )
            for value, what in labels:
                if value is None:
                    raise InvalidInput(f"an uploaded image needs its {what}")
        if self.image is not None and self.role == "final" and self.next_role is None:
            raise InvalidInput("the stage is already a final: nothing follows it in a process")
        if self.to_final and self.next_role is not None:
            raise InvalidInput("a roll-out to a final follows the process order: no next role")
