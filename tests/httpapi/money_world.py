"""A generation with an attribution, recorded directly (no training), for the money routes.

The keys' `member` and `other_artist` donations get `commercial` consent before the generation
is made, so both artists earn from it; `artist` (no donation) earns nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import factories
from litestar import Litestar
from litestar.testing import TestClient

from api.http.museum import MuseumServices
from httpapi.conftest import Keys, issue_keys, museum_of
from ledger.attribution_records import AttributionRecords
from ledger.model_records import ModelRecords

INDEX = "cd" * 32
PERIOD = {"start": "2000-01-01T00:00:00+00:00", "end": "2100-01-01T00:00:00+00:00"}


@dataclass
class Money:
    keys: Keys
    generation_id: str


def money_world(
    where: TestClient[Litestar] | MuseumServices,
    keys: Keys | None = None,
    parameters: dict[str, Any] | None = None,
) -> Money:
    """Keys for every role (unless given) and an attributed generation, on the app's ledger
    (its attribution recorded with `parameters`, by default a bare one)."""
    museum = where if isinstance(where, MuseumServices) else museum_of(where)
    keys = keys or issue_keys(museum)
    ledger = museum.ledger
    for name in ("member", "other_artist"):
        ledger.grant_consent(UUID(keys.donation_ids[name]), "commercial")
    records = ModelRecords(ledger)
    run = records.start_run(job_id="run", config={"preset": "tiny"}, seed=0, shards=1)
    records.record_checkpoint(run.id, 0, 5, "e" * 64, b"w")
    run = records.complete_run(run.id, 0.2)
    generation = records.record_generation(
        job_id="gen", run=run, seed=1, steps=10, role="final", emotion="joy", png=factories.png(7)
    )
    ids = run.item_ids()
    scores = {item_id: float(len(ids) - i) for i, item_id in enumerate(ids)}
    AttributionRecords(ledger).record(
        generation.id, "trak", parameters or {"t": 1}, INDEX, scores, k=6
    )
    return Money(keys, str(generation.id))


def revenue(money: Money, amount: int = 10_000, reference: str = "print 7") -> dict[str, Any]:
    return {
        "generation_id": money.generation_id,
        "amount_minor": amount,
        "currency": "EUR",
        "reference": reference,
    }


def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    return headers | {"Idempotency-Key": key}
