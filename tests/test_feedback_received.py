"""The feedback an artist received on any of their donations (My museum's list)."""

from __future__ import annotations

from uuid import UUID

import pytest
from factories import artist, donation

from ledger.application import MuseumLedger
from ledger.errors import NotFound
from ledger.exhibition import Exhibition, nobody


def test_feedback_received_is_the_artists_own_newest_first(ledger: MuseumLedger) -> None:
    mine = ledger.register_artist(artist("Ink Moth"))
    theirs = ledger.register_artist(artist("Glass Heron"))
    first = ledger.donate(donation(mine)).donation_id
    second = ledger.donate(donation(mine)).donation_id
    other = ledger.donate(donation(theirs)).donation_id
    ledger.give_feedback("donation", first, 0, "one", "a", "Curator Ada")
    ledger.give_feedback("donation", other, 0, "not yours", "b", "Curator Ada")
    ledger.give_feedback("donation", second, 2, "two", "c", "Curator Ada")
    ledger.give_feedback("donation", first, 1, "three", "d", "Curator Ada")
    exhibition = Exhibition(ledger)

    def owner(artist_id: UUID) -> bool:
        return artist_id == mine

    found = exhibition.feedback_received(mine, owner, 10)
    assert [(f.tried, f.stage_index) for f in found] == [("three", 1), ("two", 2), ("one", 0)]
    assert [f.target_id for f in found] == [str(first), str(second), str(first)]
    assert [f.tried for f in exhibition.feedback_received(mine, owner, 2)] == ["three", "two"]
    with pytest.raises(NotFound):
        exhibition.feedback_received(mine, nobody, 10)  # another's list does not exist for you
