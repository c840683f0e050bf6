"""Attribution of a generated image to training items: exact integer shares, and the ledger fact.

Shares are integer parts-per-million (ppm) that always sum to exactly 1_000_000, computed with
exact rational arithmetic and the largest-remainder method, so the same scores give the same
shares on any machine and no credit is lost or invented by rounding.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.domain.artist import MUSEUM_NAMESPACE
from ledger.errors import InvalidInput
from ledger.shares import highest, largest_remainder, ranked

PPM = 1_000_000
MAX_K = 1000
ROLL_UP_KEYS = ("donation_id", "role", "artist_id")


def _check_scores(scores: Mapping[str, float]) -> None:
    for item_id, score in scores.items():
        if not isinstance(item_id, str) or not item_id:
            raise InvalidInput("training item ids must be non-empty strings")
        if isinstance(score, bool) or not isinstance(score, int | float):
            raise InvalidInput(f"score of item {item_id} is not a number")
        if not math.isfinite(score):
            raise InvalidInput(f"score of item {item_id} is {score}: scores must be finite")


def top_k(scores: Mapping[str, float], k: int) -> list[tuple[str, float]]:
    """The k highest-scoring items, highest first; ties broken by item id (`ledger.shares`)."""
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise InvalidInput(f"k must be an integer between 1 and {MAX_K}")
    _check_scores(scores)
    return [(item_id, float(score)) for item_id, score in highest(scores.items(), k)]


def exact_shares(scores: Mapping[str, float], k: int) -> list[tuple[str, int]]:
    """Integer ppm shares of the positively scored top-k items, summing to exactly 1_000_000.

    Quotas are exact fractions of the positive total; each item gets its floor, and the ppm left
    over go one each to the largest remainders (ties by item id): `ledger.shares`, the rule the
    royalty split uses too. Ordered by share, then item id.
    """
    positive = [(item_id, Fraction(score)) for item_id, score in top_k(scores, k) if score > 0]
    if not positive:
        raise InvalidInput("no training item scored positively: nothing to credit")
    # Floats are dyadic fractions: over their common denominator every score is an exact integer.
    denominator = math.lcm(*(score.denominator for _, score in positive))
    weights = [(item_id, int(score * denominator)) for item_id, score in positive]
    return ranked(largest_remainder(PPM, weights).items())


def roll_up(
    shares: Iterable[tuple[str, int]],
    items_by_id: Mapping[str, Mapping[str, Any]],
    key: str,
) -> list[tuple[str, int]]:
    """Sum item shares by an item field ("donation_id", "role", "artist_id"); the sum is kept."""
    totals: dict[str, int] = {}
    for item_id, ppm in shares:
        item = items_by_id.get(item_id)
        if item is None:
            raise InvalidInput(f"item {item_id} is not a training item of this run")
        if key not in item:
            raise InvalidInput(f"training item {item_id} has no field {key!r}")
        group = str(item[key])
        totals[group] = totals.get(group, 0) + ppm
    return ranked(totals.items())


class Attribution(Aggregate):
    """How much each training item, donation, stage role and artist is credited for one image."""

    class AttributionRecorded(Aggregate.Created):
        generation_id: UUID
        model_version: UUID
        method: str
        parameters: dict[str, Any]
        index_hash: str
        k: int
        top_k: list[dict[str, Any]]
        shares_ppm: list[dict[str, Any]]
        per_donation: list[dict[str, Any]]
        per_role: list[dict[str, Any]]
        per_artist: list[dict[str, Any]]

    @staticmethod
    def create_id(generation_id: UUID, method: str, index_hash: str) -> UUID:
        return uuid5(MUSEUM_NAMESPACE, f"attribution:{generation_id}:{method}:{index_hash}")

    @event(AttributionRecorded)
    def __init__(
        self,
        generation_id: UUID,
        model_version: UUID,
        method: str,
        parameters: dict[str, Any],
        index_hash: str,
        k: int,
        top_k: list[dict[str, Any]],
        shares_ppm: list[dict[str, Any]],
        per_donation: list[dict[str, Any]],
        per_role: list[dict[str, Any]],
        per_artist: list[dict[str, Any]],
    ) -> None:
        self.generation_id = generation_id
        self.model_version = model_version
        self.method = method
        self.parameters = parameters
        self.index_hash = index_hash
        self.k = k
        self.top_k = top_k
        self.shares_ppm = shares_ppm
        self.per_donation = per_donation
        self.per_role = per_role
        self.per_artist = per_artist

    @classmethod
    def compute(
        cls,
        *,
        generation_id: UUID,
        model_version: UUID,
        method: str,
        parameters: dict[str, Any],
        index_hash: str,
        scores: Mapping[str, float],
        k: int,
        items_by_id: Mapping[str, Mapping[str, Any]],
    ) -> Attribution:
        """Rank, share and roll up; refuse scores for items the run did not train on."""
        foreign = sorted(set(scores) - set(items_by_id))
        if foreign:
            raise InvalidInput(
                f"{len(foreign)} scored items are not training items of model version "
                f"{model_version} (e.g. {foreign[0]}): index built for another run"
            )
        shares = exact_shares(scores, k)

        def keyed(pairs: list[tuple[str, int]]) -> list[dict[str, Any]]:
            return [{"key": key, "ppm": ppm} for key, ppm in pairs]

        return cls(
            generation_id=generation_id,
            model_version=model_version,
            method=method,
            parameters=parameters,
            index_hash=index_hash,
            k=k,
            top_k=[{"item_id": i, "score": s} for i, s in top_k(scores, k)],
            shares_ppm=[{"item_id": i, "ppm": ppm} for i, ppm in shares],
            per_donation=keyed(roll_up(shares, items_by_id, "donation_id")),
            per_role=keyed(roll_up(shares, items_by_id, "role")),
            per_artist=keyed(roll_up(shares, items_by_id, "artist_id")),
        )


class GenerationCredits(Aggregate):
    """Which attributions a generation has, in recording order: a lookup kept in the ledger, so
    that finding a generation's credit never scans every attribution."""

    class Opened(Aggregate.Created):
        generation_id: UUID
        attribution_id: UUID

    @staticmethod
    def create_id(generation_id: UUID) -> UUID:
        return uuid5(MUSEUM_NAMESPACE, f"generation-credits:{generation_id}")

    @event(Opened)
    def __init__(self, generation_id: UUID, attribution_id: UUID) -> None:
        self.generation_id = generation_id
        self.attribution_ids: list[UUID] = [attribution_id]

    @event("AttributionListed")
    def add(self, attribution_id: UUID) -> None:
        self.attribution_ids.append(attribution_id)
