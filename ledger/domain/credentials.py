"""Content credentials of a generated image: each signed manifest it has left with, in order.

A manifest is never overwritten. When the image's record changes (an attribution is recorded
after it was made, or a later one replaces it), a new version is issued whose C2PA ingredient is
the previous version, and the aggregate appends it. Each version names its file in the blob store
(the museum's own bytes, in clear: they hold no donor's image or identity), the file's digest,
the manifest's label and which attribution it carries.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.domain.artist import MUSEUM_NAMESPACE
from ledger.errors import InvalidInput

HEX = frozenset("0123456789abcdef")


def check_version(blob_id: str, sha256: str, manifest_label: str) -> None:
    """A version names a blob by its 64-hex id and digest and a manifest by a non-empty label."""
    for what, value in (("blob id", blob_id), ("digest", sha256)):
        if len(value) != 64 or not set(value) <= HEX:
            raise InvalidInput(f"a credentials {what} is 64 lowercase hex characters")
    if not manifest_label.startswith("urn:") or len(manifest_label) > 200:
        raise InvalidInput("a manifest label is a urn of at most 200 characters")


class ContentCredentials(Aggregate):
    """The versions of one generated image's signed manifest, oldest first."""

    class Issued(Aggregate.Created):
        generation_id: UUID
        version: dict[str, Any]

    @staticmethod
    def create_id(generation_id: UUID) -> UUID:
        return uuid5(MUSEUM_NAMESPACE, f"content-credentials:{generation_id}")

    @staticmethod
    def version_of(
        blob_id: str, sha256: str, manifest_label: str, attribution_id: UUID | None
    ) -> dict[str, Any]:
        check_version(blob_id, sha256, manifest_label)
        return {
            "blob_id": blob_id,
            "sha256": sha256,
            "manifest_label": manifest_label,
            "attribution_id": None if attribution_id is None else str(attribution_id),
        }

    @event(Issued)
    def __init__(self, generation_id: UUID, version: dict[str, Any]) -> None:
        self.generation_id = generation_id
        self.versions: list[dict[str, Any]] = [version]

    @property
    def latest(self) -> dict[str, Any]:
        return self.versions[-1]

    def reissue(self, version: dict[str, Any]) -> bool:
        """Append a new version; False (nothing recorded) when it is the latest already."""
        if version["sha256"] == self.latest["sha256"]:
            return False
        self._reissued(version)
        return True

    @event("Reissued")
    def _reissued(self, version: dict[str, Any]) -> None:
        self.versions.append(version)
