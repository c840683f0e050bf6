"""Consent status: one row per (donation, purpose), projected from the donations' events.

A donation starts with a row for every purpose (granted or not, since the donation); each
grant or revoke moves its purpose's row to the event's state and time; a withdrawal for
erasure (after its revokes, each its own event) marks every row of the donation withdrawn.
So "does consent hold now, since when, by which event" is one indexed read, and
`MuseumLedger.consent_at` stays the answer for any moment in the past.
"""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

import sqlalchemy as sa
from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.domain import DomainEvent
from eventsourcing.persistence import Tracking

from ledger.domain import Donation
from ledger.read_models.base import ReadModel, RowProjection, WriterT, epoch_us, iso_us
from ledger.read_models.paging import (
    NotificationId,
    ShortKey,
    page_limit,
)
from ledger.read_models.views import ConsentPage, ConsentStatusRead
from ledger.tables import consent_status
from ledger.topics import stored_topics
from ledger.tracked_view import Insert, Update
from ledger.vocabulary import Purpose

MADE = Donation.DonationMade
GRANTED = Donation.ConsentGranted
REVOKED = Donation.ConsentRevoked
WITHDRAWN = Donation.DonationWithdrawn
LISTING = "consents"
Cursor = tuple[Literal["consents"], NotificationId, ShortKey]
ORDER = (consent_status.c.donation_seq, consent_status.c.purpose)
PURPOSES = sorted(p.value for p in Purpose)


class ConsentProjection(RowProjection[WriterT]):
    """The rules of the consent status rows."""

    name = "consent_status"
    topics = tuple(stored_topics(MADE, GRANTED, REVOKED, WITHDRAWN))
    tables = (consent_status,)

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """An event of no consent class (none is selected by topic): only the position moves."""
        self.view.write([], tracking)

    @process_event.register(MADE)
    def _made(self, domain_event: Donation.DonationMade, tracking: Tracking) -> None:
        base = {
            "donation_id": str(domain_event.originator_id),
            "artist_id": str(domain_event.artist_id),
            "donation_seq": tracking.notification_id,
            "withdrawn": False,
            "since_us": epoch_us(domain_event.timestamp),
            "notification_id": tracking.notification_id,
        }
        granted = set(domain_event.consents)
        self.view.write(
            [
                Insert(consent_status, base | {"purpose": p, "granted": p in granted})
                for p in PURPOSES
            ],
            tracking,
        )

    @process_event.register(GRANTED)
    @process_event.register(REVOKED)
    def _changed(self, domain_event: DomainEvent, tracking: Tracking) -> None:
        purpose: str = domain_event.purpose  # type: ignore[attr-defined]
        change = {
            "granted": isinstance(domain_event, GRANTED),
            "since_us": epoch_us(domain_event.timestamp),
            "notification_id": tracking.notification_id,
        }
        self.view.write([Update(consent_status, _key(domain_event, purpose), change)], tracking)

    @process_event.register(WITHDRAWN)
    def _withdrawn(self, domain_event: DomainEvent, tracking: Tracking) -> None:
        final = {"withdrawn": True, "granted": False}
        self.view.write(
            [Update(consent_status, _key(domain_event, p), final) for p in PURPOSES],
            tracking,
        )


def _key(domain_event: DomainEvent, purpose: str) -> dict[str, str]:
    return {"donation_id": str(domain_event.originator_id), "purpose": purpose}


def _read(row: Any) -> ConsentStatusRead:
    return ConsentStatusRead(
        donation_id=row.donation_id,
        purpose=row.purpose,
        artist_id=row.artist_id,
        granted=bool(row.granted),
        withdrawn=bool(row.withdrawn),
        since=iso_us(row.since_us),
        notification_id=row.notification_id,
    )


class ConsentStatus(ReadModel):
    """The consent status read model of one ledger, and its listing."""

    projection_class = ConsentProjection

    def consents(
        self,
        artist_id: UUID | None = None,
        after: str | None = None,
        limit: int = 100,
        *,
        donation_id: UUID | None = None,
    ) -> ConsentPage:
        """Consent rows (of one artist, or one donation, or all) in donation order, then
        purpose; caught up first, so a change just made is listed."""
        limit = page_limit(limit)
        query = sa.select(consent_status)
        if artist_id is not None:
            query = query.where(consent_status.c.artist_id == str(artist_id))
        if donation_id is not None:
            query = query.where(consent_status.c.donation_id == str(donation_id))
        items, cursor = self.page(query, ORDER, after, (LISTING, Cursor), limit, _read)
        return ConsentPage(items=items, next=cursor)
