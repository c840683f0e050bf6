"""What each caller may see of donors and donations, and the donor's own acts on them.

The rule, written once: an artist's own records and compliance see everything; everyone else
sees a donation only while it holds `exhibit` consent, an artist by pseudonym (an anonymous
artist by no name) with only their exhibited donations. A record the caller may not see
answers as if it did not exist (`NotFound`), never with a hint that it does.

Callers say who they are with a `Viewer`: a function telling whether they may see all of a
given artist's records (the HTTP principal's `may_see_artist`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar
from uuid import UUID

import msgspec

from ledger.application import MuseumLedger
from ledger.crypto import DataKey
from ledger.domain import Donation, Feedback, Stage
from ledger.donor_views import (
    ConsentAtRead,
    ConsentChangedRead,
    ConsentStatusRead,
    FeedbackRead,
)
from ledger.errors import ErasedError, InvalidInput, KeyShredded, NotFound
from ledger.validation import aware
from ledger.views import ERASED_DONOR, ArtistRead, DonationRead, donation_read
from ledger.vocabulary import Purpose, parse

Viewer = Callable[[UUID], bool]
ANONYMOUS_DONOR = "anonymous donor"
T = TypeVar("T")


def nobody(_artist_id: UUID) -> bool:
    """The viewer who sees only what is exhibited (a visitor)."""
    return False


@dataclass(frozen=True)
class StageImage:
    """A stage's image bytes as donated, with their media type."""

    data: bytes
    media_type: str


def exhibited(donation: Donation) -> bool:
    return donation.consent_holds(Purpose.EXHIBIT)


def consents_of(donation: Donation) -> dict[str, bool]:
    return {purpose.value: donation.consent_holds(purpose) for purpose in Purpose}


def page_after(
    items: Iterable[tuple[str, T]], after: str | None, limit: int
) -> tuple[list[T], str | None]:
    """A keyset page of (id, item) pairs in their stored order: the items after the one whose id
    is `after`, at most `limit`, and the cursor of the next page (None on the last)."""
    found: list[T] = []
    last: str | None = None
    started = after is None
    for item_id, item in items:
        if not started:
            started = item_id == after
            continue
        if len(found) == limit:
            return found, last
        found.append(item)
        last = item_id
    if not started:
        raise InvalidInput(f"cursor {after!r} is not a position in this list")
    return found, None


@dataclass
class Exhibition:
    ledger: MuseumLedger

    # --- artists ----------------------------------------------------------------------------

    def artist(self, artist_id: UUID, sees_all: Viewer) -> ArtistRead:
        view = self.ledger.artist_view(artist_id)
        if sees_all(artist_id):
            return view
        shown = [d for d in view.donations if exhibited(self.ledger.get_donation(UUID(d)))]
        pseudonym = view.pseudonym
        if view.anonymous and pseudonym != ERASED_DONOR:
            pseudonym = ANONYMOUS_DONOR
        return msgspec.structs.replace(view, pseudonym=pseudonym, donations=shown)

    def donations(
        self, artist_id: UUID, sees_all: Viewer, after: str | None, limit: int
    ) -> tuple[list[DonationRead], str | None]:
        """The artist's donations in the order they were made, a page at a time."""
        artist = self.ledger.get_artist(artist_id)
        everything = sees_all(artist_id)

        def visible() -> Iterator[tuple[str, DonationRead]]:
            for donation_id in artist.donation_ids:
                donation = self.ledger.get_donation(donation_id)
                if everything or exhibited(donation):
                    yield str(donation_id), self._read(donation_id, donation)

        return page_after(visible(), after, limit)

    # --- donations --------------------------------------------------------------------------

    def donation(self, donation_id: UUID, sees_all: Viewer) -> DonationRead:
        return self._read(donation_id, self._visible(donation_id, sees_all))

    def stage_image(self, donation_id: UUID, index: int, sees_all: Viewer) -> StageImage:
        donation = self._visible(donation_id, sees_all)
        stage = self._stage(donation, index)
        if donation.withdrawn:
            raise ErasedError(
                f"donation {donation_id} was withdrawn for erasure; its images are gone"
            )
        return StageImage(self.ledger.stage_image(donation_id, index), stage.media_type)

    # --- consent ----------------------------------------------------------------------------

    def consent(self, donation_id: UUID, sees_all: Viewer) -> ConsentStatusRead:
        donation = self._own(donation_id, sees_all)
        return ConsentStatusRead(
            donation_id=str(donation_id),
            consents=consents_of(donation),
            withdrawn=donation.withdrawn,
            history=self.ledger.consent_trail(donation_id),
        )

    def consent_at(
        self, donation_id: UUID, purpose: str, at: datetime | None, sees_all: Viewer
    ) -> ConsentAtRead:
        purpose = parse(Purpose, purpose, "consent purpose")
        self._own(donation_id, sees_all)
        moment = datetime.now(UTC) if at is None else aware(at, "the time asked about")
        held = self.ledger.consent_at(donation_id, purpose, moment)
        return ConsentAtRead(
            donation_id=str(donation_id), purpose=purpose, at=moment.isoformat(), granted=held
        )

    def change_consent(
        self, donation_id: UUID, purpose: str, granted: bool, owner: Viewer
    ) -> ConsentChangedRead:
        """Grant or revoke, as the donation's own artist; repeating a change records nothing."""
        purpose = parse(Purpose, purpose, "consent purpose")

        def owned(donation: Donation) -> None:
            if not owner(donation.artist_id):
                raise NotFound(f"no donation {donation_id}")

        changed, donation = self.ledger.set_consent(donation_id, purpose, granted, check=owned)
        return ConsentChangedRead(
            donation_id=str(donation_id),
            purpose=purpose,
            granted=granted,
            changed=changed,
            consents=consents_of(donation),
        )

    # --- feedback ---------------------------------------------------------------------------

    def give_feedback(
        self,
        donation_id: UUID,
        index: int,
        *,
        tried: str,
        next_try: str,
        author: str,
        sees_all: Viewer,
    ) -> FeedbackRead:
        donation = self._visible(donation_id, sees_all)
        self._stage(donation, index)
        donation.check_not_withdrawn()
        feedback_id = self.ledger.give_feedback(
            "donation", donation_id, index, tried, next_try, author
        )
        return feedback_read(self.ledger.get_aggregate(feedback_id, Feedback, "feedback"))

    def feedback(
        self, donation_id: UUID, index: int, sees_all: Viewer, after: str | None, limit: int
    ) -> tuple[list[FeedbackRead], str | None]:
        """Feedback on one stage, oldest first. Read by scanning every feedback event: there is
        no feedback read model yet."""
        self._stage(self._visible(donation_id, sees_all), index)

        def on_stage() -> Iterator[tuple[str, FeedbackRead]]:
            for feedback_id in self.ledger.ids_with_topic(Feedback.FeedbackGiven):
                given = self.ledger.get_aggregate(feedback_id, Feedback, "feedback")
                if given.target_id == donation_id and given.stage_index == index:
                    yield str(feedback_id), feedback_read(given)

        return page_after(on_stage(), after, limit)

    def feedback_received(
        self, artist_id: UUID, sees_all: Viewer, limit: int
    ) -> list[FeedbackRead]:
        """The newest `limit` pieces of feedback on any stage of the artist's donations, newest
        first: for the artist themself (and compliance). One scan of the feedback events."""
        if not sees_all(artist_id):
            raise NotFound(f"no artist {artist_id}")
        theirs = set(self.ledger.get_artist(artist_id).donation_ids)
        found: list[FeedbackRead] = []
        for feedback_id in reversed(self.ledger.ids_with_topic(Feedback.FeedbackGiven)):
            given = self.ledger.get_aggregate(feedback_id, Feedback, "feedback")
            if given.target_kind == "donation" and given.target_id in theirs:
                found.append(feedback_read(given))
                if len(found) == limit:
                    break
        return found

    # --- helpers ----------------------------------------------------------------------------

    def _visible(self, donation_id: UUID, sees_all: Viewer) -> Donation:
        donation = self.ledger.get_donation(donation_id)
        if not (sees_all(donation.artist_id) or exhibited(donation)):
            raise NotFound(f"no donation {donation_id}")
        return donation

    def _own(self, donation_id: UUID, sees_all: Viewer) -> Donation:
        donation = self.ledger.get_donation(donation_id)
        if not sees_all(donation.artist_id):
            raise NotFound(f"no donation {donation_id}")
        return donation

    @staticmethod
    def _stage(donation: Donation, index: int) -> Stage:
        if not 0 <= index < len(donation.stages):
            raise NotFound(f"donation {donation.id} has no stage {index}")
        return donation.stages[index]

    def _read(self, donation_id: UUID, donation: Donation) -> DonationRead:
        try:
            key: DataKey | None = self.ledger.data_key(donation.artist_id)
        except KeyShredded:
            key = None
        return donation_read(donation_id, donation, key)


def feedback_read(feedback: Feedback) -> FeedbackRead:
    return FeedbackRead(
        feedback_id=str(feedback.id),
        target_kind=feedback.target_kind,
        target_id=str(feedback.target_id),
        stage_index=feedback.stage_index,
        tried=feedback.tried,
        next_try=feedback.next_try,
        author=feedback.author,
        given_at=feedback.created_on.isoformat(),
    )
