"""An exhibition without training: the keys' donations, an anonymous donor's, one generation
and an attribution that credits every stage of all three (recorded directly, like
`money_world`), on a real app. The fixture `gallery` (conftest) is one such world for the
whole test session, to read only; `own_gallery` builds a test its own, to change."""

from __future__ import annotations

from dataclasses import dataclass

import factories
from litestar import Litestar
from litestar.testing import TestClient

from api.http.museum import MuseumServices
from httpapi.conftest import Keys, issue_keys, museum_of
from ledger.attribution_records import AttributionRecords
from ledger.model_records import ModelRecords

INDEX = "ab" * 32


@dataclass
class Gallery:
    client: TestClient[Litestar]
    keys: Keys
    generation_id: str
    anonymous_donation: str

    @property
    def museum(self) -> MuseumServices:
        return museum_of(self.client)


def exhibition_world(client: TestClient[Litestar]) -> Gallery:
    museum = museum_of(client)
    keys = issue_keys(museum)
    ledger = museum.ledger
    quiet = ledger.register_artist(factories.artist("Quiet Heron", anonymous=True))
    hidden = ledger.donate(
        factories.donation(quiet, stages=factories.stages("attempt", "revision", shade=90))
    )
    records = ModelRecords(ledger)
    run = records.start_run(job_id="gallery", config={"preset": "tiny"}, seed=0, shards=1)
    records.record_checkpoint(run.id, 0, 5, "e" * 64, b"w")
    run = records.complete_run(run.id, 0.2)
    generation = records.record_generation(
        job_id="gallery-1",
        run=run,
        seed=4,
        steps=10,
        role="failure",
        emotion="doubt",
        png=factories.png(99),
    )
    ids = run.item_ids()
    scores = {item_id: float(len(ids) - i) for i, item_id in enumerate(ids)}
    AttributionRecords(ledger).record(generation.id, "trak", {"t": 1}, INDEX, scores, k=len(ids))
    return Gallery(client, keys, str(generation.id), str(hidden.donation_id))
