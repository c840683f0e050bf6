"""The artist directory: one row per artist, projected from the artists' events, for listing.

Registration makes the row (founding when the artist took one of the first hundred seats);
a curator's grant makes them founding, a donation counts, anonymity follows its changes, and
an erasure request marks them erased. Pseudonyms are sealed per artist and stay out of the
table: a listing opens them from the ledger page by page (`MuseumLedger.artist_view`), so a
shredded key leaves nothing readable behind here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal
from uuid import UUID

import sqlalchemy as sa
from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.domain import DomainEvent
from eventsourcing.persistence import Tracking

from ledger.domain import Artist
from ledger.read_models.base import ReadModel, RowProjection, WriterT, epoch_us, iso_us
from ledger.read_models.paging import (
    NotificationId,
    page_limit,
)
from ledger.read_models.views import ArtistEntryRead, ArtistPage
from ledger.tables import artist_directory
from ledger.topics import stored_topics
from ledger.tracked_view import Insert, Update


def _event_class(name: str) -> type:
    found: type = getattr(Artist, name)  # made by @event, not declared
    return found


REGISTERED = Artist.ArtistRegistered
FOUNDING = _event_class("FoundingStatusGranted")
ANONYMITY = _event_class("AnonymityChanged")
DONATED = _event_class("DonationAdded")
ERASING = Artist.ErasureRequested
LISTING = "artists"
Cursor = tuple[Literal["artists"], NotificationId]


class DirectoryProjection(RowProjection[WriterT]):
    """The rules of the directory rows."""

    name = "artist_directory"
    topics = tuple(stored_topics(REGISTERED, FOUNDING, ANONYMITY, DONATED, ERASING))
    tables = (artist_directory,)

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """An event of no directory class (none is selected by topic): only the position moves."""
        self.view.write([], tracking)

    @process_event.register(REGISTERED)
    def _registered(self, domain_event: Artist.ArtistRegistered, tracking: Tracking) -> None:
        row = {
            "artist_id": str(domain_event.originator_id),
            "seq": tracking.notification_id,
            "founding": domain_event.founding_number is not None,
            "founding_number": domain_event.founding_number,
            "anonymous": bool(domain_event.anonymous),
            "donations": 0,
            "erased": False,
            "registered_us": epoch_us(domain_event.timestamp),
        }
        self.view.write([Insert(artist_directory, row)], tracking)

    @process_event.register(FOUNDING)
    def _founding(self, domain_event: DomainEvent, tracking: Tracking) -> None:
        self._set(domain_event, tracking, founding=True)

    @process_event.register(ANONYMITY)
    def _anonymity(self, domain_event: DomainEvent, tracking: Tracking) -> None:
        self._set(domain_event, tracking, anonymous=bool(domain_event.anonymous))  # type: ignore[attr-defined]

    @process_event.register(ERASING)
    def _erasing(self, domain_event: DomainEvent, tracking: Tracking) -> None:
        self._set(domain_event, tracking, erased=True)

    @process_event.register(DONATED)
    def _donated(self, domain_event: DomainEvent, tracking: Tracking) -> None:
        change = Update(artist_directory, _key(domain_event), add={"donations": 1})
        self.view.write([change], tracking)

    def _set(self, domain_event: DomainEvent, tracking: Tracking, **values: Any) -> None:
        self.view.write([Update(artist_directory, _key(domain_event), values)], tracking)


def _key(domain_event: DomainEvent) -> dict[str, str]:
    return {"artist_id": str(domain_event.originator_id)}


def _read(row: Any) -> ArtistEntryRead:
    return ArtistEntryRead(
        artist_id=row.artist_id,
        founding=bool(row.founding),
        founding_number=row.founding_number,
        anonymous=bool(row.anonymous),
        donations=row.donations,
        erased=bool(row.erased),
        registered_at=iso_us(row.registered_us),
    )


class ArtistDirectory(ReadModel):
    """The artist directory read model of one ledger, and its listing."""

    projection_class = DirectoryProjection

    def artists(
        self, after: str | None = None, limit: int = 100, *, founding: bool | None = None
    ) -> ArtistPage:
        """Artists in registration order (founding ones only, or none of them, when asked);
        caught up first, so an artist just registered is listed."""
        limit = page_limit(limit)
        query = sa.select(artist_directory)
        if founding is not None:
            query = query.where(artist_directory.c.founding == founding)
        order = [artist_directory.c.seq]
        items, cursor = self.page(query, order, after, (LISTING, Cursor), limit, _read)
        return ArtistPage(items=items, next=cursor)

    def entries(self, artist_ids: Sequence[UUID]) -> dict[UUID, ArtistEntryRead]:
        """The directory rows of these artists (caught up first), by id; an unknown id is
        absent. One query however many artists: what a credit line needs to know of each."""
        if not artist_ids:
            return {}
        self.catch_up()
        wanted = sorted({str(artist_id) for artist_id in artist_ids})
        with self.engine.connect() as c:
            rows = c.execute(
                sa.select(artist_directory).where(artist_directory.c.artist_id.in_(wanted))
            ).all()
        return {UUID(row.artist_id): _read(row) for row in rows}
