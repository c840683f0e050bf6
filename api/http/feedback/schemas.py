"""The body of feedback on a stage."""

from __future__ import annotations

from typing import Annotated

import msgspec


class FeedbackGive(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Feedback about the process, not a verdict on the work: what was tried at this stage, and
    what could be tried next (at least one of the two)."""

    tried: Annotated[str, msgspec.Meta(max_length=4000)] = ""
    next_try: Annotated[str, msgspec.Meta(max_length=4000)] = ""
