"""Erasure as a whole: the request, the retraining it waits for, the certificate that closes it.

`MuseumLedger.erase_artist` withdraws the donations, destroys the key and schedules retraining
at once. An erasure completes when the deployed model version holds none of the artist's stages
(at once if none ever did, otherwise when a retraining run has replaced it): then a signed
certificate (`ledger.erasure_certificate`) is recorded with the `ErasureCompleted` event.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec

from ledger.application import MuseumLedger
from ledger.domain import Artist, Donation
from ledger.domain.model import CONTINUATION, ModelRegistry, TrainingRun
from ledger.erasure_certificate import build_certificate
from ledger.validation import aware
from ledger.views import ErasureRead, erasure_read


class Erasures:
    """Thin service over the ledger; holds no state of its own."""

    def __init__(self, ledger: MuseumLedger) -> None:
        self.ledger = ledger

    # --- asking ---------------------------------------------------------------------------

    def request(self, artist_id: UUID, reason: str) -> ErasureRead:
        """Erase the artist (a repeat is refused), withdraw the continuation model at once if
        it learned from their stages (`withdraw_continuation`), and complete now if no model
        holds them."""
        self.ledger.erase_artist(artist_id, reason)
        self.withdraw_continuation(artist_id)
        self.settle(artist_id)
        return self.status(artist_id)

    def withdraw_continuation(self, artist_id: UUID) -> UUID | None:
        """The deployed continuation model stops serving if it learned from the artist's
        stages; `museum retrain` trains the next one on the pairs consent still allows
        (`generation.retraining`). The version withdrawn, if any."""
        fingerprints = self._fingerprints(self.ledger.get_artist(artist_id))

        def withdraw() -> UUID | None:
            registry = self.ledger.find(ModelRegistry.REGISTRY_ID, ModelRegistry)
            version = None if registry is None else registry.deployed_variants.get(CONTINUATION)
            if registry is None or version is None:
                return None
            run = self.ledger.get_aggregate(version, TrainingRun, "model version")
            if not run.fingerprints() & fingerprints:
                return None
            registry.withdraw_variant(
                CONTINUATION, version, f"learned from stages of erased artist {artist_id}"
            )
            self.ledger.save(registry)
            return version

        return self.ledger.retry(withdraw, "the model registry")

    # --- where it stands ------------------------------------------------------------------

    def _fingerprints(self, artist: Artist) -> set[str]:
        return {
            stage.fingerprint
            for donation_id in artist.donation_ids
            for stage in self.ledger.get_aggregate(donation_id, Donation, "donation").stages
        }

    def _deployed(self) -> TrainingRun | None:
        registry = self.ledger.find(ModelRegistry.REGISTRY_ID, ModelRegistry)
        if registry is None or registry.deployed is None:
            return None
        return self.ledger.get_aggregate(registry.deployed, TrainingRun, "model version")

    def _held(self) -> set[str]:
        """Fingerprints of every stage a deployed model (of any variant) learned from."""
        registry = self.ledger.find(ModelRegistry.REGISTRY_ID, ModelRegistry)
        if registry is None:
            return set()
        versions = [registry.deployed, *registry.deployed_variants.values()]
        return {
            fingerprint
            for version in versions
            if version is not None
            for fingerprint in self.ledger.get_aggregate(
                version, TrainingRun, "model version"
            ).fingerprints()
        }

    def status(self, artist_id: UUID, now: datetime | None = None) -> ErasureRead:
        """The erasure with its time left, and what it waits for while open."""
        artist = self.ledger.get_artist(artist_id)
        status = erasure_read(artist_id, artist)
        if artist.erasure_deadline is None or status.completed:
            return status
        moment = datetime.now(UTC) if now is None else aware(now, "now")
        deployed = self._deployed()
        holding = deployed is not None and bool(
            self._fingerprints(artist) & deployed.fingerprints()
        )
        due, run = self._scheduled(artist_id)
        left = (artist.erasure_deadline - moment).total_seconds()
        return msgspec.structs.replace(
            status,
            awaiting_retraining_of=[str(deployed.id)] if holding and deployed else [],
            time_left_seconds=int(left),
            overdue=left < 0,
            retraining_due_at=due,
            retraining_run=run,
        )

    def _scheduled(self, artist_id: UUID) -> tuple[str | None, str | None]:
        """When the artist's pending request is due, or which run serves it now."""
        schedule = self.ledger.retraining_schedule()
        mine = [r for r in schedule.pending if _is_erasure_of(r, artist_id)]
        due = min((r["due_at"] for r in mine), default=None)
        run = next(
            (
                run_id
                for run_id, requests in schedule.in_flight.items()
                if any(_is_erasure_of(r, artist_id) for r in requests)
            ),
            None,
        )
        return due, run

    def open_ids(self) -> list[UUID]:
        """Artists whose erasure was asked for and has no certificate yet, oldest first."""
        ids = dict.fromkeys(self.ledger.ids_with_topic(Artist.ErasureRequested))
        return [a for a in ids if self.ledger.get_artist(a).erasure_certificate is None]

    def every(self, now: datetime | None = None) -> list[ErasureRead]:
        ids = dict.fromkeys(self.ledger.ids_with_topic(Artist.ErasureRequested))
        return [self.status(artist_id, now) for artist_id in ids]

    # --- closing --------------------------------------------------------------------------

    def settle(self, artist_id: UUID | None = None) -> list[UUID]:
        """Certify every open erasure (or the one named) whose stages no deployed model holds;
        the ids certified now. Safe to repeat and to run beside another settle."""
        held = self._held()
        certified = []
        for candidate in [artist_id] if artist_id is not None else self.open_ids():
            artist = self.ledger.get_artist(candidate)
            if (
                not artist.key_shredded
                or artist.erasure_certificate is not None
                or self._fingerprints(artist) & held
            ):
                continue
            self._certify(candidate)
            certified.append(candidate)
        return certified

    def _certify(self, artist_id: UUID) -> None:
        runs = self._served_by(artist_id)

        def complete() -> None:
            artist = self.ledger.get_artist(artist_id)
            if artist.erasure_certificate is not None:
                return  # a concurrent settle certified it first
            certificate = build_certificate(self.ledger, artist_id, runs)
            artist.complete_erasure(certificate=certificate)
            self.ledger.save(artist)

        self.ledger.retry(complete, f"artist {artist_id}")

    def _served_by(self, artist_id: UUID) -> list[UUID]:
        """Retraining runs that served the artist's erasure requests, in the order they ran."""
        schedule = self.ledger.retraining_schedule()
        runs = [
            schedule.served.get(number)
            for number, request in sorted(schedule.requests.items())
            if _is_erasure_of(request, artist_id)
        ]
        return [UUID(run) for run in dict.fromkeys(runs) if run is not None]


def _is_erasure_of(request: dict[str, Any], artist_id: UUID) -> bool:
    return bool(request["cause"] == "erasure" and request["subject"] == str(artist_id))
