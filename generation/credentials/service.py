"""Issue and serve a generated image's content credentials through the ledger.

`current` is the one rule: an image's newest version must carry its latest attribution (or
none, before the first). When it does not — a new image, or one credited since its last version
— a new version is signed, with the previous one as its parent ingredient, and recorded
(`ledger.credential_records`). Generation and attribution jobs call it as they finish; serving an
image calls it too, so an image made before credentials existed leaves with them all the same.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from uuid import UUID

from generation.credentials.certificates import ClaimSigner, claim_signer, trust_anchors
from generation.credentials.manifest import LedgerRecord, Reference, definition
from generation.credentials.reading import check_png
from generation.credentials.signing import sign_png
from generation.credentials.views import CredentialsCheckRead, CredentialsRead
from ledger.application import MuseumLedger
from ledger.attribution_records import AttributionRecords
from ledger.credential_records import CredentialRecords
from ledger.domain.attribution import Attribution
from ledger.domain.credentials import ContentCredentials
from ledger.errors import KeyShredded
from ledger.model_reads import ModelReads
from ledger.settings import Settings, get_settings

# A generation's receipt proves its `GenerationMade` event, the aggregate's first.
CREATED = 1


def _version_tag() -> str:
    try:
        return package_version("failure-museum-ledger")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "0+unknown"


class ContentCredentialService:
    """One per process (or per job); the signer is loaded on first use and kept."""

    def __init__(self, ledger: MuseumLedger, settings: Settings | None = None) -> None:
        self.ledger = ledger
        self.settings = settings or ledger.settings or get_settings()
        self.records = CredentialRecords(ledger)
        self.attributions = AttributionRecords(ledger)
        self.reads = ModelReads(ledger)
        self._signer: ClaimSigner | None = None

    def signer(self) -> ClaimSigner:
        if self._signer is None:
            self._signer = claim_signer(self.settings, self.ledger.master)
        return self._signer

    def trust_anchors(self) -> str | None:
        return self.signer().trust_anchors_pem if self._signer else trust_anchors(self.settings)

    def current(self, generation_id: UUID) -> tuple[ContentCredentials, bytes]:
        """The image's credentials and its newest signed file, first issuing a version if the
        newest is out of date (no version yet, attributed since, or shredded by an erasure)."""
        credentials = self.records.find(generation_id)
        latest = self.attributions.latest_for(generation_id)
        wanted = None if latest is None else str(latest.id)
        readable = None if credentials is None else self.records.newest_readable(credentials)
        if (
            credentials is not None
            and readable is not None
            and readable[0] == len(credentials.versions)
            and credentials.latest["attribution_id"] == wanted
        ):
            return credentials, readable[1]
        seen = 0 if credentials is None else len(credentials.versions)
        parent = None if readable is None else readable[1]
        donors = self._donors(latest)
        if credentials is not None and readable is not None:  # the parent's donors are inside
            donors += self.records.sealed_for(credentials.versions[readable[0] - 1])
        signed, label = sign_png(
            self.reads.generation_png(generation_id),
            definition(
                self.record(generation_id, latest),
                version=seen + 1,
                version_tag=_version_tag(),
                creates=parent is None,
            ),
            self.signer(),
            parent,
        )
        issued = self.records.issue(
            generation_id,
            signed,
            label,
            None if latest is None else latest.id,
            based_on=seen,
            sealed_for=donors,
        )
        if len(issued.versions) != seen + 1:  # another process issued one meanwhile
            return self.current(generation_id)
        return issued, signed

    def _donors(self, attribution: Attribution | None) -> list[UUID]:
        """The credited donors whose pseudonym the manifest names (not the erased ones)."""
        if attribution is None:
            return []
        donors = []
        for line in attribution.per_artist:
            artist_id = UUID(line["key"])
            try:
                self.ledger.data_key(artist_id)
            except KeyShredded:
                continue
            donors.append(artist_id)
        return donors

    def record(self, generation_id: UUID, attribution: Attribution | None) -> LedgerRecord:
        """What the museum's assertion says: the generation's record, receipt and credit."""
        generation = self.reads.generation(generation_id)
        if attribution is None:
            return LedgerRecord(
                generation=generation,
                receipt=self.ledger.integrity.receipt_for(generation_id, CREATED),
                attribution=None,
                references=[],
            )
        items = {
            item["item_id"]: item
            for item in self.reads.records.get_run(attribution.model_version).items
        }
        references = [
            Reference(
                fingerprint=items[share["item_id"]]["fingerprint"],
                role=items[share["item_id"]]["role"],
                ppm=int(share["ppm"]),
            )
            for share in attribution.shares_ppm
        ]
        return LedgerRecord(
            generation=generation,
            receipt=self.ledger.integrity.receipt_for(generation_id, CREATED),
            attribution=self.attributions.describe(attribution),
            references=references,
        )

    def signed_png(self, generation_id: UUID) -> bytes:
        """The image as it leaves the museum: its newest signed version."""
        return self.current(generation_id)[1]

    def check(self, data: bytes) -> CredentialsCheckRead:
        return check_png(data, self.trust_anchors())

    def describe(self, generation_id: UUID) -> CredentialsRead:
        """Every version issued, and the newest read back and checked."""
        credentials, signed = self.current(generation_id)
        return CredentialsRead(
            generation_id=str(generation_id),
            versions=self.records.versions(credentials),
            check=self.check(signed),
        )
