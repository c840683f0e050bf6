"""`attribute`: score a generation against its run's items and record the credit.

The body of `museum attribute` and of the `attribute` job. Attribution computes, the ledger
records (`AttributionRecords`), and a retry finds the attribution already recorded under the
same (generation, method, index hash).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

from ledger.application import MuseumLedger
from ledger.attribution_records import AttributionRecords
from ledger.domain.attribution import MAX_K, Attribution
from ledger.errors import InvalidInput
from ledger.model_records import ModelRecords
from ledger.model_views import AttributionRead

if TYPE_CHECKING:
    from attribution.methods import Method

DEFAULT_TOP = 10


@dataclass(frozen=True)
class AttributeRequest:
    """What to attribute and how; None means the method's own setting."""

    generation_id: UUID
    method: str | None = None
    top: int = DEFAULT_TOP
    timesteps: int | None = None
    dim: int | None = None
    checkpoints: int | None = None
    seed: int = 0

    def check(self) -> None:
        """Refuse what needs no ledger to refuse, before any model work starts."""
        if isinstance(self.top, bool) or not 1 <= self.top <= MAX_K:
            raise InvalidInput(f"top-k must be between 1 and {MAX_K}")
        if self.seed < 0:
            raise InvalidInput("the seed must not be negative")
        self.resolved_method()

    def resolved_method(self) -> Method:
        from attribution.methods import DEFAULT_METHOD, get_method

        try:
            return get_method(self.method or DEFAULT_METHOD).with_settings(
                timesteps=self.timesteps, dim=self.dim, checkpoints=self.checkpoints
            )
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None


def parse_generation_id(value: str) -> UUID:
    try:
        return UUID(str(value))
    except ValueError:
        raise InvalidInput(f"generation {value!r} is not a generation id (a UUID)") from None


def index_root(home: Path) -> Path:
    """Attribution indexes sit beside the blob store (shared by workers in distributed mode)."""
    return home / "attribution-indexes"


def attribute(ledger: MuseumLedger, home: Path, request: AttributeRequest) -> AttributionRead:
    """Score, record, and describe the recorded attribution (pseudonyms only, no identity)."""
    request.check()
    method = request.resolved_method()
    # 1. The generation and the model version (run) that made it; unknown ids are NotFound.
    records = ModelRecords(ledger)
    generation = records.get_generation(request.generation_id)
    run = records.get_run(generation.model_version)
    from attribution.continuation import attribution_of  # deferred: torch loads for real work

    # 2. Score every training item of the run (building the run's index on first use); a
    # proposal of the continuation model against the stage pairs its run learned from.
    scored = attribution_of(ledger, run, method, index_root(home), seed=request.seed).score(
        generation
    )
    # 3. Record the top-k and its exact shares; a retry returns the recorded attribution.
    attribution = AttributionRecords(ledger).record(
        generation.id,
        method.name,
        scored.parameters,
        scored.index_hash,
        scored.scores,
        request.top,
    )
    return describe(ledger, attribution, query_seconds=scored.seconds)


def describe(
    ledger: MuseumLedger, attribution: Attribution, *, query_seconds: float | None = None
) -> AttributionRead:
    """The recorded attribution as a reader sees it: items, shares and credit lines."""
    return AttributionRecords(ledger).describe(attribution, query_seconds=query_seconds)
