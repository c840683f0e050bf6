"""Revenue, refunds and payouts as ledger facts. Every event carries its own balanced postings.

The postings are computed by the pure engine (`royalties.split`) when the command runs and are
recorded in the event, so the books never depend on the terms or code in force when they are
read back: the postings read model is a plain projection of these events.
"""

from __future__ import annotations

import sys
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.domain.artist import MUSEUM_NAMESPACE
from ledger.errors import Conflict, InvalidInput
from ledger.topics import register_moved_module
from royalties.split import (
    Contributor,
    Posting,
    Terms,
    check_balanced,
    failed_payout_postings,
    payout_postings,
    release_postings,
    reverse_postings,
    split_revenue,
)


def _rows(postings: list[Posting]) -> list[dict[str, Any]]:
    check_balanced(postings)
    return [p.as_dict() for p in postings]


class RevenueReport(Aggregate):
    """One report of commercial use of a generation, keyed by the integrator's idempotency key."""

    class RevenueReported(Aggregate.Created):
        idempotency_key: str
        body_sha256: str
        generation_id: UUID
        attribution_id: UUID | None
        currency: str
        amount_minor: int
        reference: str
        terms: dict[str, int]
        contributors: list[dict[str, Any]]
        postings: list[dict[str, Any]]

    @staticmethod
    def create_id(idempotency_key: str) -> UUID:
        return uuid5(MUSEUM_NAMESPACE, "revenue:" + idempotency_key)

    @event(RevenueReported)
    def __init__(
        self,
        idempotency_key: str,
        body_sha256: str,
        generation_id: UUID,
        attribution_id: UUID | None,
        currency: str,
        amount_minor: int,
        reference: str,
        terms: dict[str, int],
        contributors: list[dict[str, Any]],
        postings: list[dict[str, Any]],
    ) -> None:
        self.idempotency_key = idempotency_key
        self.body_sha256 = body_sha256
        self.generation_id = generation_id
        self.attribution_id = attribution_id
        self.currency = currency
        self.amount_minor = amount_minor
        self.reference = reference
        self.terms = terms
        self.contributors = contributors
        self.postings = postings
        self.reversals: dict[str, dict[str, Any]] = {}

    @classmethod
    def book(
        cls,
        *,
        idempotency_key: str,
        body_sha256: str,
        generation_id: UUID,
        attribution_id: UUID | None,
        currency: str,
        amount_minor: int,
        reference: str,
        terms: Terms,
        contributors: list[Contributor],
    ) -> RevenueReport:
        """Split and record; `contributors` empty means the community pool takes the artists' part."""
        postings = split_revenue(amount_minor, contributors, terms)
        return cls(
            idempotency_key=idempotency_key,
            body_sha256=body_sha256,
            generation_id=generation_id,
            attribution_id=attribution_id,
            currency=currency,
            amount_minor=amount_minor,
            reference=reference,
            terms=terms.as_dict(),
            contributors=[
                {"artist_id": c.artist_id, "eligible_ppm": c.eligible_ppm, "founding": c.founding}
                for c in contributors
            ],
            postings=_rows(postings),
        )

    def check_same_body(self, body_sha256: str) -> None:
        if body_sha256 != self.body_sha256:
            raise Conflict(
                f"idempotency key {self.idempotency_key!r} was used for a different report; "
                "use a new key for a new report"
            )

    @property
    def refunded_minor(self) -> int:
        return sum(r["amount_minor"] for r in self.reversals.values())

    def reverse(
        self, refund_key: str, amount_minor: int, kind: str, reason: str, body: str
    ) -> bool:
        """Refund or charge back part of the report; False if this refund key was already booked."""
        known = self.reversals.get(refund_key)
        if known is not None:
            if known["body_sha256"] != body:
                raise Conflict(
                    f"refund key {refund_key!r} was used for a different refund of this report"
                )
            return False
        earlier = [
            Posting.from_dict(line) for r in self.reversals.values() for line in r["postings"]
        ]
        postings = reverse_postings(
            [Posting.from_dict(p) for p in self.postings], earlier, amount_minor, kind
        )
        self._reverse(
            refund_key=refund_key,
            kind=kind,
            amount_minor=amount_minor,
            reason=reason,
            body_sha256=body,
            postings=_rows(postings),
        )
        return True

    @event("RevenueReversed")
    def _reverse(
        self,
        refund_key: str,
        kind: str,
        amount_minor: int,
        reason: str,
        body_sha256: str,
        postings: list[dict[str, Any]],
    ) -> None:
        self.reversals[refund_key] = {
            "kind": kind,
            "amount_minor": amount_minor,
            "reason": reason,
            "body_sha256": body_sha256,
            "postings": postings,
        }


class Payout(Aggregate):
    """Money sent to one artist in one currency by one payout run; it may fail and be reversed."""

    class PayoutMade(Aggregate.Created):
        run_key: str
        artist_id: UUID
        currency: str
        amount_minor: int
        postings: list[dict[str, Any]]

    @staticmethod
    def create_id(run_key: str, artist_id: UUID, currency: str) -> UUID:
        return uuid5(MUSEUM_NAMESPACE, f"payout:{run_key}:{artist_id}:{currency}")

    @event(PayoutMade)
    def __init__(
        self,
        run_key: str,
        artist_id: UUID,
        currency: str,
        amount_minor: int,
        postings: list[dict[str, Any]],
    ) -> None:
        self.run_key = run_key
        self.artist_id = artist_id
        self.currency = currency
        self.amount_minor = amount_minor
        self.postings = postings
        self.failure: str | None = None

    @classmethod
    def make(cls, run_key: str, artist_id: UUID, currency: str, amount_minor: int) -> Payout:
        return cls(
            run_key=run_key,
            artist_id=artist_id,
            currency=currency,
            amount_minor=amount_minor,
            postings=_rows(payout_postings(str(artist_id), amount_minor)),
        )

    def fail(self, reason: str) -> bool:
        """Reverse a payout the payment rail could not deliver; False if already reversed."""
        if self.failure is not None:
            return False
        if not reason.strip():
            raise InvalidInput("say why the payout failed (e.g. 'IBAN closed')")
        reversal = failed_payout_postings([Posting.from_dict(p) for p in self.postings])
        self._fail(reason=reason.strip()[:500], postings=_rows(reversal))
        return True

    @event("PayoutFailed")
    def _fail(self, reason: str, postings: list[dict[str, Any]]) -> None:
        self.failure = reason


class PayoutDesk(Aggregate):
    """The one desk that records payout runs: idempotent by run key, and one run at a time.

    Every run and every release of a held balance is saved together with the desk, so two
    concurrent runs cannot both pay the same balance: the second fails on the desk's version.
    """

    DESK_ID = uuid5(MUSEUM_NAMESPACE, "payout-desk")

    @staticmethod
    def create_id() -> UUID:
        return PayoutDesk.DESK_ID

    @event("PayoutDeskOpened")
    def __init__(self) -> None:
        self.runs: dict[str, dict[str, Any]] = {}
        self.releases: dict[str, dict[str, Any]] = {}

    def record_run(
        self,
        run_key: str,
        thresholds: dict[str, int],
        payouts: list[dict[str, Any]],
        held: list[dict[str, Any]],
    ) -> None:
        if run_key in self.runs:
            raise Conflict(f"payout run {run_key!r} was already recorded")
        self._record_run(run_key=run_key, thresholds=thresholds, payouts=payouts, held=held)

    @event("PayoutRunRecorded")
    def _record_run(
        self,
        run_key: str,
        thresholds: dict[str, int],
        payouts: list[dict[str, Any]],
        held: list[dict[str, Any]],
    ) -> None:
        self.runs[run_key] = {"thresholds": thresholds, "payouts": payouts, "held": held}

    def release_held(self, release_key: str, artist_id: UUID, currency: str, amount: int) -> bool:
        """Move an erased artist's held balance to the community pool; False if already done."""
        known = self.releases.get(release_key)
        if known is not None:
            if (known["artist_id"], known["currency"]) != (str(artist_id), currency):
                raise Conflict(f"release key {release_key!r} was used for another balance")
            return False
        self._release(
            release_key=release_key,
            artist_id=str(artist_id),
            currency=currency,
            amount_minor=amount,
            postings=_rows(release_postings(str(artist_id), amount)),
        )
        return True

    @event("HeldBalanceReleased")
    def _release(
        self,
        release_key: str,
        artist_id: str,
        currency: str,
        amount_minor: int,
        postings: list[dict[str, Any]],
    ) -> None:
        self.releases[release_key] = {
            "artist_id": artist_id,
            "currency": currency,
            "amount_minor": amount_minor,
        }


# Events recorded before these aggregates moved here (issue 15) name them by their old module;
# they resolve to this module and are found by topic queries (`ledger.topics.stored_topics`).
register_moved_module("ledger.domain.royalty", sys.modules[__name__])
