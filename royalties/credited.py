"""Which attribution each credit of a statement was split by, and how stable that credit is."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from ledger.application import MuseumLedger
from ledger.domain.attribution import Attribution
from ledger.model_views import CreditStabilityRead, credit_stability_of
from royalties.domain import RevenueReport
from royalties.statement import EARNING_KINDS

Credited = dict[str, tuple[str | None, CreditStabilityRead | None]]


def credited_by(ledger: MuseumLedger, lines: Sequence[Mapping[str, Any]]) -> Credited:
    """Per credit of a statement (each generation's first earning report among `lines`, the
    report its share comes from), the attribution that report was split by and the credit
    stability recorded with it; keyed by the report's id (the rows' `source_id`). One report
    and one attribution read per credited generation, however many lines it has."""
    firsts: dict[tuple[Any, Any], str] = {}
    for row in lines:
        if row["kind"] in EARNING_KINDS:
            firsts.setdefault((row["currency"], row["generation_id"]), row["source_id"])
    out: Credited = {}
    stability: dict[UUID, CreditStabilityRead | None] = {}
    for source in firsts.values():
        if source in out:
            continue
        report = ledger.get_aggregate(UUID(source), RevenueReport, "revenue report")
        used = report.attribution_id
        if used is None:  # booked before reports named their attribution
            out[source] = (None, None)
            continue
        if used not in stability:
            attribution = ledger.get_aggregate(used, Attribution, "attribution")
            stability[used] = credit_stability_of(attribution.method, attribution.parameters)
        out[source] = (str(used), stability[used])
    return out
