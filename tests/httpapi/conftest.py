"""The HTTP app on a real ledger (SQLite file, or PostgreSQL), one API key per role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import factories
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from api.http.app import create_app
from api.http.museum import MuseumServices
from api.http.settings import HttpSettings
from ledger.crypto import MasterKey
from ledger.domain import FoundingRoll
from ledger.settings import Settings

if TYPE_CHECKING:
    from httpapi.exhibition_world import Gallery


@dataclass
class Keys:
    """Bearer headers of one key per role; `member` is an artist with a donation on record,
    `artist` one without, `other_artist` a member whose records the others must not see, and
    `founder` holds the founding roll's only seat (the others are not founding artists)."""

    headers: dict[str, dict[str, str]]
    artist_ids: dict[str, str]
    donation_ids: dict[str, str]

    def __getitem__(self, role: str) -> dict[str, str]:
        return self.headers[role]


def museum_of(client: TestClient[Litestar]) -> MuseumServices:
    museum: MuseumServices = client.app.state.museum
    return museum


def issue_keys(museum: MuseumServices) -> Keys:
    """On a fresh ledger the founding roll is opened with one seat, for `founder`: the first
    artists to register would take founding seats, and a founding artist is always a member,
    so `artist` would be one."""
    ledger = museum.ledger
    headers: dict[str, dict[str, str]] = {"visitor": {}}
    artist_ids: dict[str, str] = {}
    donation_ids: dict[str, str] = {}
    for role in ("compliance", "integrator", "curator"):
        headers[role] = _bearer(museum.keys.create(role, f"test {role}").secret)
    if ledger.find(FoundingRoll.ROLL_ID, FoundingRoll) is None:  # a seeded museum has its own
        ledger.save(FoundingRoll(seats=1))  # one founder, so that the others are plain members
    for name, donates in (
        ("founder", False),
        ("artist", False),
        ("member", True),
        ("other_artist", True),
    ):
        artist_id = ledger.register_artist(factories.artist(f"Pseudonym {name}"))
        artist_ids[name] = str(artist_id)
        if donates:
            result = ledger.donate(factories.donation(artist_id))
            donation_ids[name] = str(result.donation_id)
        headers[name] = _bearer(museum.keys.create("artist", f"test {name}", artist_id).secret)
    return Keys(headers, artist_ids, donation_ids)


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def http_settings() -> HttpSettings:
    # The Atelier's event streams end quickly: a test client reads a response whole.
    return HttpSettings(rate_limit="100000/minute", key_cache_seconds=0, stream_seconds=0.2)


@pytest.fixture
def client(backend: Settings, http_settings: HttpSettings) -> Iterator[TestClient[Litestar]]:
    with TestClient(create_app(backend, http_settings), raise_server_exceptions=False) as test:
        yield test


@pytest.fixture
def sqlite_client(tmp_path: Path, http_settings: HttpSettings) -> Iterator[TestClient[Litestar]]:
    settings = Settings(home=tmp_path / "var", master_key=MasterKey.generate_text())
    with TestClient(create_app(settings, http_settings), raise_server_exceptions=False) as test:
        yield test


@pytest.fixture
def keys(sqlite_client: TestClient[Litestar]) -> Keys:
    return issue_keys(museum_of(sqlite_client))


@pytest.fixture(scope="session")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gallery]:
    """One exhibition (`httpapi.exhibition_world`) for the tests that only read it."""
    from httpapi.exhibition_world import exhibition_world

    settings = Settings(
        home=tmp_path_factory.mktemp("gallery") / "var", master_key=MasterKey.generate_text()
    )
    http = HttpSettings(rate_limit="100000/minute", key_cache_seconds=0)
    with TestClient(create_app(settings, http), raise_server_exceptions=False) as client:
        yield exhibition_world(client)


@pytest.fixture
def own_gallery(sqlite_client: TestClient[Litestar]) -> Gallery:
    """An exhibition of the test's own, to change (consent, erasure)."""
    from httpapi.exhibition_world import exhibition_world

    return exhibition_world(sqlite_client)
