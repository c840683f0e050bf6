"""A store written by earlier code still opens: every stored event loads under today's classes.

`tests/fixtures/ledger-v1/` was written at commit ba7e37f (see `fixtures/README.md`),
before issue 15 moved aggregates between packages. Events name their class by topic
(`module:Class.Event`); a moved class stays loadable through eventsourcing's topic registration.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate

import royalties.domain  # noqa: F401  (registers the royalty aggregates' old topics)
from ledger.application import ERASED_DONOR, MuseumLedger
from ledger.runtime import opened_ledger
from ledger.settings import Settings
from royalties.service import RoyaltyService

FIXTURE = Path(__file__).parent / "fixtures" / "ledger-v1"


@pytest.fixture
def old_store(tmp_path: Path) -> Any:
    home = tmp_path / "var"
    shutil.copytree(FIXTURE, home)
    with opened_ledger(Settings(home=home, master_key_file=home / "master.key")) as ledger:
        yield ledger


def _originators(ledger: MuseumLedger) -> list[UUID]:
    seen: dict[UUID, None] = {}
    for notification in ledger.recorder.select_notifications(None, 10_000):
        seen.setdefault(UUID(str(notification.originator_id)), None)
    return list(seen)


def test_every_stored_event_loads_and_the_log_verifies(old_store: MuseumLedger) -> None:
    report = old_store.integrity.verify()
    assert report.events == 44
    kinds = set()
    for originator in _originators(old_store):
        aggregate = old_store.repository.get(originator)
        assert isinstance(aggregate, Aggregate)
        kinds.add(type(aggregate).__name__)
    assert {"Artist", "Donation", "RevenueReport", "Payout", "PayoutDesk", "Attribution"} <= kinds
    stored = {n.topic for n in old_store.recorder.select_notifications(None, 10_000)}
    assert (
        "ledger.domain.royalty:RevenueReport.RevenueReported" in stored
    )  # written before the move


def test_old_royalty_records_answer_as_they_did(old_store: MuseumLedger) -> None:
    royalties = RoyaltyService(old_store)
    sale = royalties.get_report("sale-1")
    assert (sale.amount_minor, sale.currency) == (10_000, "EUR")
    refunded = royalties.get_report("sale-2")
    assert refunded.refunded_minor == 500
    # The read model rebuilt from the old events balances, and the payout run is remembered.
    assert royalties.projection.rebuild() > 0
    assert sum(row.balance for row in royalties.balances() if row.currency == "EUR") == 0
    again = royalties.run_payouts("payout-1")
    assert again.repeated is True
    erased = [old_store.artist_view(a) for a in old_store.artist_ids()]
    assert [view.pseudonym for view in erased].count(ERASED_DONOR) == 1
