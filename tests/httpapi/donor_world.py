"""A small museum for the pages of donors and staff: every role's key (`httpapi.conftest`), a
completed (deployed) run on the two donations, an attributed generation, revenue booked on it
(so `member` and `other_artist` earn) and feedback on `member`'s second stage.

`shared_museum` opens one such app for a whole test module (a few seconds, once); tests on it
change nothing the others read, or change only what they put back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from litestar import Litestar
from litestar.testing import TestClient
from pydantic import SecretStr

from api.http.app import create_app
from api.http.museum import MuseumServices
from api.http.settings import HttpSettings
from httpapi.conftest import Keys, museum_of
from httpapi.money_world import money_world
from ledger.crypto import MasterKey
from ledger.settings import Settings

FEEDBACK_TRIED = "wet on wet, twice"
FEEDBACK_NEXT = "let the wash dry before the second layer"


@dataclass
class DonorWorld:
    client: TestClient[Litestar]
    keys: Keys
    generation_id: str
    run_id: str

    @property
    def museum(self) -> MuseumServices:
        return museum_of(self.client)


def build(client: TestClient[Litestar]) -> DonorWorld:
    museum = museum_of(client)
    money = money_world(client)
    generation = museum.models.get_generation(UUID(money.generation_id))
    museum.royalties.book_revenue(
        generation_id=generation.id,
        amount_minor=10_000,
        currency="EUR",
        reference="print 7",
        idempotency_key="print-7",
    )
    member_donation = UUID(money.keys.donation_ids["member"])
    museum.ledger.give_feedback(
        "donation", member_donation, 1, FEEDBACK_TRIED, FEEDBACK_NEXT, "Curator Okonkwo"
    )
    return DonorWorld(client, money.keys, money.generation_id, str(generation.model_version))


@contextmanager
def shared_museum(home: Path) -> Iterator[DonorWorld]:
    settings = Settings(home=home, master_key=SecretStr(MasterKey.generate_text()))
    http = HttpSettings(rate_limit="100000/minute", key_cache_seconds=0)
    with TestClient(create_app(settings, http), raise_server_exceptions=False) as client:
        yield build(client)
