"""Request bodies of the model routes."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from ledger.views import View

MAX_STEPS = 1_000_000
MAX_SHARDS = 64


class RunCreate(View, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A training run: the `train` job's arguments. `preset`: tiny, demo or full; `steps`
    overrides the preset's; `shards` > 1 trains compartmentalised models (exact unlearning)."""

    preset: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    seed: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)] = 0
    shards: Annotated[int, msgspec.Meta(ge=1, le=MAX_SHARDS)] = 1
    steps: Annotated[int, msgspec.Meta(ge=1, le=MAX_STEPS)] | None = None
    # stage: each stage given its labels; continuation: the next stage given the previous one
    # (trained on consented stage pairs, one shard, deployed beside the stage model).
    variant: Literal["stage", "continuation"] = "stage"


class RetrainingCreate(View, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A retraining: the `retrain` job's arguments. Without `now` only a batch that is due is
    served (its window has closed); with it, every pending request."""

    now: bool = False
