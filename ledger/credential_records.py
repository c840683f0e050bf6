"""Ledger service for content credentials: which signed manifest versions an image has left with.

The signing itself happens above the ledger (`generation.credentials`, which needs the C2PA
library and the signing key); the ledger keeps the signed files in the blob store and the
`ContentCredentials` aggregate's versions, so a re-attribution adds a version and never
replaces one. A retry that signs the same bytes records nothing new.

A version that credits donors names them by pseudonym, and an erasure must take the museum's
copy of a pseudonym with it. So such a file is stored sealed under a random content key split
into shares (XOR), one sealed with each credited donor's data key — donors of the earlier
versions inside it included: erasing any one of them shreds the file (`KeyShredded` on
reading), and `generation.credentials` then issues a fresh version from the newest one that
still opens. A version that credits no one is stored in clear.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from ledger.application import MuseumLedger
from ledger.crypto import KEY_BYTES, seal, unseal
from ledger.domain.credentials import ContentCredentials
from ledger.domain.model import Generation
from ledger.errors import KeyShredded
from ledger.model_views import CredentialVersionRead


def share_field(generation_id: UUID) -> str:
    """The field a donor's share of a version's content key is sealed under."""
    return f"generation/{generation_id}/content-credentials/share"


def _xor(parts: Iterable[bytes]) -> bytes:
    total = bytes(KEY_BYTES)
    for part in parts:
        total = bytes(a ^ b for a, b in zip(total, part, strict=True))
    return total


class CredentialRecords:
    """Thin service over the ledger application; holds no state of its own."""

    def __init__(self, ledger: MuseumLedger) -> None:
        self.ledger = ledger

    def find(self, generation_id: UUID) -> ContentCredentials | None:
        """The image's credentials, or None before the first (NotFound for an unknown image)."""
        found = self.ledger.find(ContentCredentials.create_id(generation_id), ContentCredentials)
        if found is None:
            self.ledger.get_aggregate(generation_id, Generation, "generation")
        return found

    def _sealed(
        self, generation_id: UUID, signed_png: bytes, donors: list[UUID]
    ) -> tuple[bytes, list[dict[str, str]]]:
        """The stored bytes and the donors' sealed shares of their content key."""
        if not donors:
            return signed_png, []
        shares = [os.urandom(KEY_BYTES) for _ in donors[1:]]
        content_key = os.urandom(KEY_BYTES)
        shares.insert(0, _xor([content_key, *shares]))
        sealed_shares = [
            {
                "artist_id": str(donor),
                "share": base64.b64encode(
                    self.ledger.data_key(donor).seal_bytes(share, share_field(generation_id))
                ).decode("ascii"),
            }
            for donor, share in zip(donors, shares, strict=True)
        ]
        return seal(content_key, signed_png, generation_id.bytes), sealed_shares

    def issue(
        self,
        generation_id: UUID,
        signed_png: bytes,
        manifest_label: str,
        attribution_id: UUID | None,
        *,
        based_on: int,
        sealed_for: list[UUID],
    ) -> ContentCredentials:
        """Keep the signed file (sealed for `sealed_for`, the donors it names) and append it as
        the image's newest version (get → command → save). `based_on` is how many versions the
        signer saw: when another process issued one meanwhile, its version stands and this
        file is dropped. The blob is removed again if the event cannot be saved."""
        stored, shares = self._sealed(generation_id, signed_png, sorted(set(sealed_for)))
        blob_id, created = self.ledger.blobs.put(stored)
        version = ContentCredentials.version_of(
            blob_id, hashlib.sha256(signed_png).hexdigest(), manifest_label, attribution_id
        ) | {"sealed_for": shares}
        saved = False

        def record() -> ContentCredentials:
            nonlocal saved
            credentials = self.find(generation_id)
            if credentials is None:
                credentials = ContentCredentials(generation_id, version)
            elif len(credentials.versions) != based_on or not credentials.reissue(version):
                return credentials  # issued meanwhile by another process, or this very file
            self.ledger.save(credentials)
            saved = True
            return credentials

        try:
            result = self.ledger.retry(record, f"the content credentials of {generation_id}")
        except BaseException:
            if created:
                self.ledger.blobs.discard(blob_id)
            raise
        if created and not saved:
            self.ledger.blobs.discard(blob_id)
        return result

    def signed_png(self, credentials: ContentCredentials, version: int | None = None) -> bytes:
        """The signed file of a version (1-based; the newest by default); KeyShredded when a
        donor it names was erased."""
        entry = credentials.versions[
            (len(credentials.versions) if version is None else version) - 1
        ]
        stored = self.ledger.blobs.get(entry["blob_id"])
        shares: list[dict[str, str]] = entry.get("sealed_for") or []
        if not shares:
            return stored
        field = share_field(credentials.generation_id)
        parts = [
            self.ledger.data_key(UUID(s["artist_id"])).unseal_bytes(
                base64.b64decode(s["share"]), field
            )
            for s in shares
        ]
        return unseal(_xor(parts), stored, credentials.generation_id.bytes)

    def newest_readable(self, credentials: ContentCredentials) -> tuple[int, bytes] | None:
        """The newest version whose file still opens (its number and bytes), or None."""
        for number in range(len(credentials.versions), 0, -1):
            try:
                return number, self.signed_png(credentials, number)
            except KeyShredded:
                continue
        return None

    @staticmethod
    def sealed_for(entry: dict[str, Any]) -> list[UUID]:
        """The donors a version's file is sealed for."""
        return [UUID(s["artist_id"]) for s in entry.get("sealed_for") or []]

    def versions(self, credentials: ContentCredentials) -> list[CredentialVersionRead]:
        return [
            CredentialVersionRead(
                version=number,
                manifest_label=entry["manifest_label"],
                sha256=entry["sha256"],
                attribution_id=entry["attribution_id"],
            )
            for number, entry in enumerate(credentials.versions, start=1)
        ]
