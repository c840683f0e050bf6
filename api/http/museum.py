"""The services every controller uses, opened once when the app starts and closed when it stops.

One `MuseumServices` per server process, on `app.state.museum`; controllers receive it (or one
of its services) as a dependency. The ledger and its services are synchronous: handlers that
use them run in Litestar's thread pool (`sync_to_thread=True`). The job runner is async: it is
started after the ledger opens (`started`) and stopped before it closes (`shutdown`).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from uuid import UUID

import anyio.to_thread

from api.http.auth.keys import KeyStore
from api.http.auth.links import SignInLinks
from api.http.auth.principal import Principal, Role
from api.http.jobs.service import JobService, runner_for
from api.http.settings import HttpSettings, get_http_settings
from generation.credentials.service import ContentCredentialService
from ledger.application import MuseumLedger
from ledger.attribution_records import AttributionRecords
from ledger.errors import NotFound
from ledger.exhibition import Exhibition
from ledger.exhibits import Exhibits
from ledger.log_tiles import LogTiles
from ledger.model_reads import ModelReads
from ledger.model_records import ModelRecords
from ledger.publication import LogPublication, log_publication
from ledger.runtime import close_ledger, open_ledger
from ledger.settings import Settings, get_settings
from royalties.service import RoyaltyService

if TYPE_CHECKING:
    from generation.similar.service import SimilarFailures


@dataclass
class Membership:
    """The charter's tiers: an artist with a donation on record is a member; founding artists
    keep top-tier access for good (no rate limit).

    Both tiers, once reached, are never lost (nothing leaves the ledger), so they are
    remembered for the life of the process; an artist below a tier is looked up again after
    `recheck_seconds`, so a donation or a curator's grant counts within that time."""

    ledger: MuseumLedger
    recheck_seconds: float = 5.0
    _reached: dict[UUID, tuple[bool, bool]] = field(default_factory=dict)
    _checked_at: dict[UUID, float] = field(default_factory=dict)

    def _artist(self, principal: Principal) -> tuple[bool, bool] | None:
        if principal.role is not Role.ARTIST or principal.artist_id is None:
            return None
        artist_id = principal.artist_id
        known = self._reached.get(artist_id)
        fresh = time.monotonic() - self._checked_at.get(artist_id, -1e9) < self.recheck_seconds
        if known is not None and (known == (True, True) or fresh):
            return known
        try:
            artist = self.ledger.get_artist(artist_id)
        except NotFound:
            return (False, False)
        tiers = (bool(artist.donation_ids) or artist.founding, artist.founding)
        if len(self._reached) > 100_000:
            self._reached.clear()
            self._checked_at.clear()
        self._reached[artist_id] = tiers
        self._checked_at[artist_id] = time.monotonic()
        return tiers

    def is_member(self, principal: Principal) -> bool:
        tiers = self._artist(principal)
        return tiers is not None and tiers[0]

    def is_founding(self, principal: Principal) -> bool:
        tiers = self._artist(principal)
        return tiers is not None and tiers[1]


@dataclass
class MuseumServices:
    settings: Settings
    http: HttpSettings
    ledger: MuseumLedger
    keys: KeyStore
    royalties: RoyaltyService
    models: ModelRecords
    attributions: AttributionRecords
    model_reads: ModelReads
    jobs: JobService
    membership: Membership = field(init=False)
    exhibition: Exhibition = field(init=False)
    links: SignInLinks = field(init=False)
    exhibits: Exhibits = field(init=False)
    publication: LogPublication = field(init=False)
    tiles: LogTiles = field(init=False)
    credentials: ContentCredentialService = field(init=False)

    def __post_init__(self) -> None:
        # Not fields: the server's dependency types are inspected, and this one loads torch.
        self._similar: SimilarFailures | None = None
        self._similar_lock = threading.Lock()
        self.credentials = ContentCredentialService(self.ledger, self.settings)
        self.membership = Membership(self.ledger, self.http.key_cache_seconds)
        self.exhibition = Exhibition(self.ledger)
        self.links = SignInLinks(self.ledger.engine, self.keys)
        self.exhibits = Exhibits(self.attributions, self.model_reads, self.exhibition)
        self.publication = log_publication(self.ledger, self.settings.log_origin)
        self.tiles = LogTiles(self.ledger.integrity)

    def similar_failures(self) -> SimilarFailures:
        """The similar-failures service, made on first use: it loads torch and the deployed
        model, which nothing else in the server needs, so the app starts without them."""
        with self._similar_lock:
            if self._similar is None:
                from generation.similar.service import SimilarFailures, index_root

                self._similar = SimilarFailures(self.ledger, index_root(self.settings.home))
            return self._similar

    @classmethod
    def open(
        cls, settings: Settings | None = None, http: HttpSettings | None = None
    ) -> MuseumServices:
        settings = settings or get_settings()
        http = http or get_http_settings()
        ledger = open_ledger(settings)
        try:
            return cls(
                settings=settings,
                http=http,
                ledger=ledger,
                keys=KeyStore(ledger.engine, cache_seconds=http.key_cache_seconds),
                royalties=RoyaltyService(ledger),
                models=ModelRecords(ledger),
                attributions=AttributionRecords(ledger),
                model_reads=ModelReads(ledger),
                jobs=JobService(runner_for(settings, ledger), ledger),
            )
        except BaseException:
            close_ledger(ledger)
            raise

    def close(self) -> None:
        close_ledger(self.ledger)

    @classmethod
    async def started(
        cls, settings: Settings | None = None, http: HttpSettings | None = None
    ) -> MuseumServices:
        """Open the services (in a thread: opening may set the schema up), then the jobs."""
        museum = await anyio.to_thread.run_sync(cls.open, settings, http)
        try:
            await museum.jobs.start()
        except BaseException:
            await anyio.to_thread.run_sync(museum.close)
            raise
        return museum

    async def shutdown(self) -> None:
        """Stop the jobs (a running one finishes or stops first), then close the ledger."""
        try:
            await self.jobs.stop()
        finally:
            await anyio.to_thread.run_sync(self.close)

    async def authenticate(self, secret: str) -> Principal | None:
        return await anyio.to_thread.run_sync(self.keys.authenticate, secret)

    async def principal_of_key(self, key_id: str) -> Principal | None:
        return await anyio.to_thread.run_sync(self.keys.principal_of_key, key_id)
