"""Ledger service for attributions: which training items a generated image is credited to.

Recording is idempotent: an attribution's id is derived from (generation, method, index hash), so
a retried job gets the attribution already recorded instead of a second one. Credit lines carry
pseudonyms only, read "anonymous donor" for an artist who chose anonymity, and "erased donor"
once an artist's key is shredded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from ledger.application import MuseumLedger
from ledger.domain.attribution import Attribution, GenerationCredits
from ledger.domain.model import Generation, TrainingRun
from ledger.errors import Conflict, InvalidInput
from ledger.model_views import (
    AttributionRead,
    CreditLineRead,
    ItemShareRead,
    KeyedShareRead,
    ScoredItemRead,
    credit_stability_of,
)
from ledger.read_models.artists import ArtistDirectory
from ledger.validation import index_hash as _index_hash
from ledger.validation import method_name
from ledger.views import ANONYMOUS_DONOR, ERASED_DONOR

MAX_PARAMETERS_BYTES = 16_000
# Parameters that describe an attribution without changing what it computes: the projection
# seeds (the index hash already covers them) and the credit agreement its method measured. A
# retry that adds them to an attribution recorded before they were recorded is the same one.
DESCRIPTIVE_PARAMETERS = ("projection_seeds", "agreement")


def _settings(parameters: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in parameters.items() if k not in DESCRIPTIVE_PARAMETERS}


def _parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON object of finite values, small enough to live in an event."""
    try:
        text = json.dumps(dict(parameters), sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"attribution parameters must be plain JSON data: {exc}") from None
    if len(text) > MAX_PARAMETERS_BYTES:
        raise InvalidInput(f"attribution parameters exceed {MAX_PARAMETERS_BYTES} bytes of JSON")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _seeds(parameters: Mapping[str, Any]) -> list[int] | None:
    """The recorded projection seeds (None before they were recorded)."""
    seeds = parameters.get("projection_seeds")
    if not isinstance(seeds, list) or not all(
        isinstance(s, int) and not isinstance(s, bool) for s in seeds
    ):
        return None
    return list(seeds)


class AttributionRecords:
    """Thin service over the ledger application; holds no state of its own."""

    def __init__(self, ledger: MuseumLedger) -> None:
        self.ledger = ledger
        self.directory = ArtistDirectory(ledger)
        # Pseudonyms never change; whether one may be shown does (anonymity, erasure), and is
        # read from the directory on every call. Opened pseudonyms are kept for the process.
        self._pseudonyms: dict[UUID, str] = {}

    def record(
        self,
        generation_id: UUID,
        method: str,
        parameters: Mapping[str, Any],
        index_hash: str,
        scores: Mapping[str, float],
        k: int,
    ) -> Attribution:
        """Record the shares of the top-k scored items; a retry returns the recorded attribution.

        A retry with other parameters or another k under the same (generation, method, index)
        is a Conflict: it would be a different attribution under the same id.
        """
        method = method_name(method)
        index_hash = _index_hash(index_hash)
        clean = _parameters(parameters)
        generation = self.ledger.get_aggregate(generation_id, Generation, "generation")
        run = self.ledger.get_aggregate(
            generation.model_version, TrainingRun, "training run or model version"
        )

        def record() -> Attribution:
            # A retry after a lost race finds the same attribution if a concurrent copy of this
            # call recorded it: that is this call's answer too.
            existing = self.ledger.find(
                Attribution.create_id(generation_id, method, index_hash), Attribution
            )
            if existing is not None:
                if _settings(existing.parameters) != _settings(clean) or existing.k != k:
                    raise Conflict(
                        f"attribution {existing.id} was recorded with other parameters or k; "
                        "use a new index or method instead of overwriting it"
                    )
                return existing
            attribution = Attribution.compute(
                generation_id=generation_id,
                model_version=run.id,
                method=method,
                parameters=clean,
                index_hash=index_hash,
                scores=scores,
                k=k,
                items_by_id={item["item_id"]: item for item in run.items},
            )
            credits = self.ledger.find(
                GenerationCredits.create_id(generation_id), GenerationCredits
            )
            if credits is None:
                credits = GenerationCredits(generation_id, attribution.id)
            else:
                credits.add(attribution.id)
            self.ledger.save(attribution, credits)
            return attribution

        return self.ledger.retry(record, f"the credits of generation {generation_id}")

    def get(self, attribution_id: UUID) -> Attribution:
        return self.ledger.get_aggregate(attribution_id, Attribution, "attribution")

    def for_generation(self, generation_id: UUID) -> list[Attribution]:
        """Every attribution of the generation, in recording order."""
        self.ledger.get_aggregate(generation_id, Generation, "generation")
        credits = self.ledger.find(GenerationCredits.create_id(generation_id), GenerationCredits)
        if credits is None:
            return []
        return [self.get(attribution_id) for attribution_id in credits.attribution_ids]

    def latest_for(self, generation_id: UUID) -> Attribution | None:
        """The generation's most recent attribution, reading only that one (a reader's default
        view), or None before the first (NotFound for an unknown generation)."""
        credits = self.ledger.find(GenerationCredits.create_id(generation_id), GenerationCredits)
        if credits is None or not credits.attribution_ids:
            self.ledger.get_aggregate(generation_id, Generation, "generation")
            return None
        return self.get(credits.attribution_ids[-1])

    def credit_lines(self, attribution: Attribution) -> list[CreditLineRead]:
        """Public credit per artist: pseudonym ("anonymous donor" for an artist who chose
        anonymity, "erased donor" once erased) and ppm share; no identity."""
        names = self.public_names([UUID(line["key"]) for line in attribution.per_artist])
        return [
            CreditLineRead(pseudonym=names[UUID(line["key"])], ppm=int(line["ppm"]))
            for line in attribution.per_artist
        ]

    def public_names(self, artist_ids: list[UUID]) -> dict[UUID, str]:
        """How each artist is credited in public, from the directory's current anonymity and
        erasure (one query) and each pseudonym opened once per process."""
        entries = self.directory.entries(artist_ids)
        names: dict[UUID, str] = {}
        for artist_id in artist_ids:
            entry = entries.get(artist_id)
            if entry is not None and entry.erased:
                self._pseudonyms.pop(artist_id, None)
                names[artist_id] = ERASED_DONOR
            elif entry is not None and entry.anonymous:
                names[artist_id] = ANONYMOUS_DONOR
            else:
                names[artist_id] = self._pseudonym(artist_id)
        return names

    def _pseudonym(self, artist_id: UUID) -> str:
        known = self._pseudonyms.get(artist_id)
        if known is not None:
            return known
        artist = self.ledger.artist_view(artist_id)
        if artist.pseudonym == ERASED_DONOR:
            return ERASED_DONOR
        if artist.anonymous:
            return ANONYMOUS_DONOR
        if len(self._pseudonyms) > 100_000:
            self._pseudonyms.clear()
        self._pseudonyms[artist_id] = artist.pseudonym
        return artist.pseudonym

    def describe(
        self, attribution: Attribution, *, query_seconds: float | None = None
    ) -> AttributionRead:
        """The recorded attribution as a reader sees it: items, shares and credit lines."""
        return AttributionRead(
            attribution_id=str(attribution.id),
            generation_id=str(attribution.generation_id),
            model_version=str(attribution.model_version),
            method=attribution.method,
            parameters=attribution.parameters,
            index_hash=attribution.index_hash,
            k=attribution.k,
            top_k=[ScoredItemRead(**item) for item in attribution.top_k],
            shares_ppm=[ItemShareRead(**share) for share in attribution.shares_ppm],
            per_donation=[KeyedShareRead(**line) for line in attribution.per_donation],
            per_role=[KeyedShareRead(**line) for line in attribution.per_role],
            credits=self.credit_lines(attribution),
            projection_seeds=_seeds(attribution.parameters),
            credit_stability=credit_stability_of(attribution.method, attribution.parameters),
            query_seconds=None if query_seconds is None else round(query_seconds, 4),
        )
