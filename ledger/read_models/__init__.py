"""The read models the service lists, projected from the ledger's events into SQL tables
(migration 0005): consent status, credits per artist, the artist directory."""

from __future__ import annotations

from ledger.application import MuseumLedger
from ledger.read_models.artists import ArtistDirectory
from ledger.read_models.base import ReadModel
from ledger.read_models.consent import ConsentStatus
from ledger.read_models.credits import ArtistCredits

__all__ = ["ArtistCredits", "ArtistDirectory", "ConsentStatus", "ReadModel", "read_models"]


def read_models(ledger: MuseumLedger) -> dict[str, ReadModel]:
    """Every ledger read model of `ledger`, by projection name (for verify and rebuild)."""
    models: list[ReadModel] = [
        ConsentStatus(ledger),
        ArtistCredits(ledger),
        ArtistDirectory(ledger),
    ]
    return {model.name: model for model in models}
