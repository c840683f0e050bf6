"""The similar-failures upload: one image (never stored) with the labels of the stage it shows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar.datastructures import UploadFile
from litestar.params import KwargDefinition

from generation.similar.limits import DEFAULT_COUNT


@dataclass
class SimilarUpload:
    """The form: `image` (PNG, JPEG or WebP, 10 MiB and 4096×4096 pixels at most), its stage
    `role` and `failure_type` from the museum's vocabularies, optionally an `emotion` to show
    first and `count` (1 to 16)."""

    image: Annotated[UploadFile, KwargDefinition(description="The stage's image; never stored.")]
    role: Annotated[str, KwargDefinition(description="Its stage role, e.g. failure.")]
    failure_type: Annotated[str, KwargDefinition(description="Its failure type, e.g. colour.")]
    emotion: Annotated[
        str | None, KwargDefinition(description="Show failures of this emotion first.")
    ] = None
    count: Annotated[int, KwargDefinition(description="How many failures (1 to 16).")] = (
        DEFAULT_COUNT
    )
