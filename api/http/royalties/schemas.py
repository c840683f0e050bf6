"""Request bodies of the royalty routes. Ids stay strings here and are read by the ledger's one
rule (`ledger.validation.identifier`), so the API refuses exactly what the CLI refuses."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

import msgspec

from ledger.validation import identifier
from ledger.views import View

Id = Annotated[str, msgspec.Meta(description="A UUID in its 8-4-4-4-12 form.", max_length=64)]
Minor = Annotated[
    int,
    msgspec.Meta(description="Whole minor units of the currency (1999 is 19.99 EUR).", ge=1),
]


class RevenueCreate(View, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Commercial use of a generation. The key is the `Idempotency-Key` header; this body is
    what a retry under the same key must repeat exactly."""

    generation_id: Id
    amount_minor: Minor
    currency: Annotated[str, msgspec.Meta(description="ISO 4217 code, e.g. EUR, JPY.")]
    reference: Annotated[
        str, msgspec.Meta(description="The integrator's reference: the use, order or invoice.")
    ]
    attribution_id: Id | None = None

    def generation(self) -> UUID:
        return identifier(self.generation_id, "generation_id")

    def attribution(self) -> UUID | None:
        if self.attribution_id is None:
            return None
        return identifier(self.attribution_id, "attribution_id")


class RefundCreate(View, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Part or all of a report given back (`refund`) or taken back by the card network
    (`chargeback`); its key is the `Idempotency-Key` header."""

    amount_minor: Minor
    kind: Literal["refund", "chargeback"] = "refund"
    reason: str = ""


class PayoutRunCreate(View, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A payout run; the run key makes it idempotent (a second call reports the first run)."""

    run_key: Annotated[str, msgspec.Meta(description="e.g. 2026-11: one run per key, ever.")]
