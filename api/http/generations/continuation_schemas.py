"""Request bodies of the continuation routes (`/continuations`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar.datastructures import UploadFile
from litestar.params import KwargDefinition

from api.http.generations.schemas import MAX_SEED, MAX_STEPS
from ledger.domain.donation import MAX_STAGES
from ledger.views import View
from ledger.vocabulary import Emotion, FailureType, StageRole

MAX_COUNT = 16  # generation.process.request.MAX_COUNT, here without the generation package


class ContinuationOptions(View, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How to continue: `count` proposals (1–16, each its own seed from `seed` on), or each
    rolled out `to_final`; `next_role` (default: the next one in the process order), DDIM
    `steps`, and the continuation model `version` (the deployed one when absent)."""

    count: Annotated[int, msgspec.Meta(ge=1, le=MAX_COUNT)] = 4
    to_final: bool = False
    next_role: StageRole | None = None
    seed: Annotated[int, msgspec.Meta(ge=0, le=MAX_SEED - MAX_COUNT)] = 0
    steps: Annotated[int, msgspec.Meta(ge=1, le=MAX_STEPS)] = 50
    version: UUID | None = None

    def arguments(self) -> dict[str, Any]:
        """The `continue` job's arguments for these options."""
        return {
            "count": self.count,
            "to_final": self.to_final,
            "next_role": None if self.next_role is None else self.next_role.value,
            "seed": self.seed,
            "steps": self.steps,
            "version": None if self.version is None else str(self.version),
        }


class ContinuationCreate(ContinuationOptions, frozen=True, kw_only=True):
    """Continue stage `stage` of donation `donation_id` (its `exhibit` consent must hold)."""

    donation_id: UUID
    stage: Annotated[int, msgspec.Meta(ge=0, le=MAX_STAGES - 1)]


class UploadLabels(ContinuationOptions, frozen=True, kw_only=True):
    """The uploaded image's labels (its role, failure type and emotion) and the options."""

    role: StageRole
    failure_type: FailureType
    emotion: Emotion


@dataclass
class ContinuationUpload:
    """The form: `continuation` is the JSON of an `UploadLabels` as a plain field, `image`
    one image file (PNG, JPEG or WebP, at most 10 MiB and 4096×4096 pixels)."""

    continuation: Annotated[
        str, KwargDefinition(description="JSON of UploadLabels (role, failure_type, emotion, …).")
    ]
    image: Annotated[UploadFile, KwargDefinition(description="The image to continue.")]
