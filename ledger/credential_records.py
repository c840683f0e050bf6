"""Ledger service for content credentials: which signed manifest versions an image has left with.

The signing itself happens above the ledger (`generation.credentials`, which needs the C2PA
library and the signing key); the ledger keeps the signed files in the blob store and the
`ContentCredentials` aggregate's versions, so a re-attribution adds a version and never
replaces one. A retry that signs the same bytes records nothing new.
"""

from __future__ import annotations

from uuid import UUID

from ledger.application import MuseumLedger
from ledger.domain.credentials import ContentCredentials
from ledger.domain.model import Generation
from ledger.model_views import CredentialVersionRead


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

    def issue(
        self,
        generation_id: UUID,
        signed_png: bytes,
        manifest_label: str,
        attribution_id: UUID | None,
        *,
        based_on: int,
    ) -> ContentCredentials:
        """Keep the signed file and append it as the image's newest version (get → command →
        save). `based_on` is how many versions the signer saw: when another process issued one
        meanwhile, its version stands and this file is dropped (each version's parent is the one
        before it). The blob is removed again if the event cannot be saved."""
        blob_id, created = self.ledger.blobs.put(signed_png)
        version = ContentCredentials.version_of(blob_id, blob_id, manifest_label, attribution_id)

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
        """The signed file of a version (1-based; the newest by default)."""
        index = len(credentials.versions) if version is None else version
        return self.ledger.blobs.get(credentials.versions[index - 1]["blob_id"])

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
