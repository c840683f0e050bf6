"""Which visitor feedback changed what a training run saw: its record in the run's snapshot.

Process feedback on a donation makes its stages drawn more often
(`ledger.model_records.feedback_weight`: 1 + ½ per note, up to 3×). A run records, for every
donation whose weight moved, the feedback events it relied on, the weight its stages were
given against the unweighted baseline (1), and what that did to the donation's share of the
draws of its shard: the weighted share (weight × stages / the shard's total weight) against
the baseline share (stages / the shard's stages). Both shares are exact fractions, kept as
parts per million (rounded half to even) beside the exact "numerator/denominator".

Pure: run items (as the run records them) and feedback references in, plain data out.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from fractions import Fraction
from typing import Any

from ledger.concentration import exact, ppm

__all__ = ["BASELINE_WEIGHT", "feedback_effects"]

BASELINE_WEIGHT = 1.0


def feedback_effects(
    items: Sequence[Mapping[str, Any]],
    given: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    trained_shards: Collection[int] | None = None,
) -> list[dict[str, Any]]:
    """One entry per donation of `items` whose feedback (`given`: donation id → the feedback
    events, each `{"feedback_id", "stage_index", "at"}`) moved its weight off the baseline,
    in the order the items list the donations. `trained_shards`: only donations of these
    shards (a retraining run trains some shards and reuses the others unchanged)."""
    totals: dict[int, tuple[Fraction, int]] = {}
    by_donation: dict[str, tuple[int, Fraction, int]] = {}
    for item in items:
        shard = int(item.get("shard") or 0)
        weight = Fraction(float(item["weight"]))
        weighed, counted = totals.get(shard, (Fraction(0), 0))
        totals[shard] = (weighed + weight, counted + 1)
        donation_id = str(item["donation_id"])
        _, _, stages = by_donation.get(donation_id, (shard, weight, 0))
        by_donation[donation_id] = (shard, weight, stages + 1)
    effects: list[dict[str, Any]] = []
    for donation_id, (shard, weight, stages) in by_donation.items():
        events = given.get(donation_id) or []
        if weight == BASELINE_WEIGHT or not events:
            continue
        if trained_shards is not None and shard not in trained_shards:
            continue
        weighed, counted = totals[shard]
        share = weight * stages / weighed
        baseline = Fraction(stages, counted)
        effects.append(
            {
                "donation_id": donation_id,
                "shard": shard,
                "feedback": [dict(e) for e in events],
                "stages": stages,
                "weight": float(weight),
                "baseline_weight": BASELINE_WEIGHT,
                "share_ppm": ppm(share),
                "baseline_share_ppm": ppm(baseline),
                "share": exact(share),
                "baseline_share": exact(baseline),
            }
        )
    return effects
