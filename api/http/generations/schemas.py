"""Request bodies of the generation and attribution routes."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec

from api.attribute import DEFAULT_TOP
from ledger.domain.attribution import MAX_K
from ledger.views import View
from ledger.vocabulary import Emotion, StageRole

# generation.sampling's MAX_SEED and MAX_INFERENCE_STEPS (the job checks them again), here
# without importing torch into the app.
MAX_SEED = 2**63 - 1
MAX_STEPS = 1000


class GenerationCreate(View, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One image: the stage role and emotion it is conditioned on, its seed, the number of
    sampling steps, and the model version (the deployed one when absent)."""

    role: StageRole
    emotion: Emotion
    seed: Annotated[int, msgspec.Meta(ge=0, le=MAX_SEED)] = 0
    steps: Annotated[int, msgspec.Meta(ge=1, le=MAX_STEPS)] = 50
    version: UUID | None = None


class AttributionCreate(View, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An attribution with a named method (the museum's default when absent) and its
    settings: top-k items credited, feature timesteps K, projection dimension k, checkpoints."""

    method: Annotated[str, msgspec.Meta(min_length=1, max_length=32)] | None = None
    top: Annotated[int, msgspec.Meta(ge=1, le=MAX_K)] = DEFAULT_TOP
    # Their upper bounds are the method's (`attribution.methods`), checked before queueing.
    timesteps: Annotated[int, msgspec.Meta(ge=1)] | None = None
    dim: Annotated[int, msgspec.Meta(ge=1)] | None = None
    checkpoints: Annotated[int, msgspec.Meta(ge=1)] | None = None
