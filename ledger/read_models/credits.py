"""Credits per artist: one row per (attribution, artist), projected from `AttributionRecorded`.

The share is the artist's roll-up the attribution recorded (`per_artist`, integer parts per
million; an image's artist shares sum to exactly 1_000_000), with the generation, model
version and method it was computed for. Attributions are never changed, so the rows are only
ever inserted; an artist's erasure leaves them (they name an id, never a person), as the
royalty postings keep what was earned.
"""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

import sqlalchemy as sa
from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking

from ledger.domain.attribution import Attribution
from ledger.read_models.base import ReadModel, RowProjection, WriterT, epoch_us, iso_us
from ledger.read_models.paging import (
    NotificationId,
    ShortKey,
    page_limit,
)
from ledger.read_models.views import CreditPage, CreditRead
from ledger.tables import artist_credits
from ledger.topics import stored_topics
from ledger.tracked_view import Insert

RECORDED = Attribution.AttributionRecorded
LISTING = "credits"
Cursor = tuple[Literal["credits"], NotificationId, ShortKey]
ORDER = (artist_credits.c.notification_id, artist_credits.c.artist_id)


class CreditsProjection(RowProjection[WriterT]):
    """The rules of the credit rows."""

    name = "artist_credits"
    topics = tuple(stored_topics(RECORDED))
    tables = (artist_credits,)

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """An event of no attribution class (none is selected by topic): only the position moves."""
        self.view.write([], tracking)

    @process_event.register(RECORDED)
    def _recorded(self, domain_event: Attribution.AttributionRecorded, tracking: Tracking) -> None:
        base = {
            "attribution_id": str(domain_event.originator_id),
            "generation_id": str(domain_event.generation_id),
            "model_version": str(domain_event.model_version),
            "method": domain_event.method,
            "recorded_us": epoch_us(domain_event.timestamp),
            "notification_id": tracking.notification_id,
        }
        self.view.write(
            [
                Insert(
                    artist_credits,
                    base | {"artist_id": str(line["key"]), "share_ppm": int(line["ppm"])},
                )
                for line in domain_event.per_artist
            ],
            tracking,
        )


def _read(row: Any) -> CreditRead:
    return CreditRead(
        attribution_id=row.attribution_id,
        artist_id=row.artist_id,
        generation_id=row.generation_id,
        model_version=row.model_version,
        method=row.method,
        share_ppm=row.share_ppm,
        recorded_at=iso_us(row.recorded_us),
        notification_id=row.notification_id,
    )


class ArtistCredits(ReadModel):
    """The credits read model of one ledger, and its listing."""

    projection_class = CreditsProjection

    def credits_of(
        self, artist_id: UUID | None = None, after: str | None = None, limit: int = 100
    ) -> CreditPage:
        """Credit rows (of one artist, or of all) in the order they were recorded, then by
        artist; caught up first, so an attribution just recorded is listed."""
        limit = page_limit(limit)
        query = sa.select(artist_credits)
        if artist_id is not None:
            query = query.where(artist_credits.c.artist_id == str(artist_id))
        items, cursor = self.page(query, ORDER, after, (LISTING, Cursor), limit, _read)
        return CreditPage(items=items, next=cursor)
