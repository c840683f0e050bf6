"""What `museum ledger verify` checks beyond the log itself: blobs, the key vault, erasures,
outside proofs.

The log's own audit (`VerifiableLog.verify`) proves the events; these checks prove that what the
events point at still agrees with them: every blob its content address, every missing artist
key a recorded shredding, every recorded erasure certificate verifies and no model version
deployed since holds the erased stages, and every receipt, signed head or erasure certificate
handed out earlier a prefix of today's log (so a truncated tail is caught by anyone holding one).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger import merkle
from ledger.application import MuseumLedger
from ledger.certificate_check import certificate_document, verify_certificate
from ledger.checks import record_check
from ledger.domain import Donation
from ledger.domain.artist import Artist
from ledger.domain.model import ModelRegistry, TrainingRun
from ledger.errors import FileProblem, IntegrityViolation, ProofError
from ledger.log import SignedTreeHead, VerificationReport
from ledger.read_models import read_models as ledger_read_models
from ledger.receipt import verify_receipt
from ledger.sealing import record_leaf
from ledger.tables import artist_keys
from ledger.views import AuditRead, View

REGISTERED: type = Artist.ArtistRegistered
SHREDDED: type = getattr(Artist, "KeyShredded")  # noqa: B009 - made by @event, not declared


@dataclass(frozen=True)
class BlobAudit:
    stored: int  # files re-hashed against their names
    referenced: int  # distinct blob ids the events name (all present and intact)


@dataclass(frozen=True)
class KeyAudit:
    artists: int  # registered artists
    keys: int  # wrapped keys in the vault, each for a live artist
    shredded: int  # artists whose key shredding is recorded (and whose key is gone)


def audit_blobs(ledger: MuseumLedger, referenced: Iterable[str]) -> BlobAudit:
    """Re-hash every stored blob; every blob an event names must exist (erasure removes none)."""
    present: set[str] = set()
    for path in sorted(ledger.blobs.paths()):
        if path.name.startswith("."):
            continue  # an interrupted put's temporary file, never referenced
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        if digest.hexdigest() != path.name or path.parent.name != path.name[:2]:
            raise IntegrityViolation(
                f"blob {path.name} does not match its content address (its bytes were changed)"
            )
        present.add(path.name)
    wanted = set(referenced)
    missing = sorted(wanted - present)
    if missing:
        raise IntegrityViolation(
            f"blob {missing[0]} is named by an event but missing from the blob store"
            + (f" ({len(missing)} missing in all)" if len(missing) > 1 else "")
        )
    return BlobAudit(len(present), len(wanted))


def audit_keys(ledger: MuseumLedger) -> KeyAudit:
    """A wrapped key for every artist exactly while no `KeyShredded` is recorded for them."""
    artists = set(ledger.ids_with_topic(REGISTERED))
    shredded = set(ledger.ids_with_topic(SHREDDED))
    with ledger.engine.connect() as c:
        vault = {UUID(row[0]) for row in c.execute(sa.select(artist_keys.c.artist_id))}
    for artist_id in sorted(artists - shredded - vault):
        raise IntegrityViolation(
            f"artist {artist_id} has no data key in the vault, but no KeyShredded event is "
            "recorded for them: the key was removed outside an erasure"
        )
    for artist_id in sorted(shredded & vault):
        raise IntegrityViolation(
            f"artist {artist_id} has a data key in the vault although its shredding is "
            "recorded: a shredded key came back"
        )
    return KeyAudit(len(artists), len(vault & artists), len(shredded))


@dataclass(frozen=True)
class ErasureAudit:
    certified: int  # erasures certified complete
    certificates_verified: int  # their certificates, each verified as `check-certificate` does
    versions_checked: int  # deployed model versions held against the certified erasures
    awaiting_retraining: int  # open erasures whose stages the deployed version still holds


def _deployments(ledger: MuseumLedger) -> tuple[UUID | None, list[tuple[int, UUID]]]:
    """The deployed version now, and every deployment as (notification id, version)."""
    registry = ledger.find(ModelRegistry.REGISTRY_ID, ModelRegistry)
    if registry is None:
        return None, []
    deployments = []
    for domain_event in ledger.events.get(ModelRegistry.REGISTRY_ID):
        if type(domain_event).__name__ == "ModelDeployed":
            version = domain_event.originator_version
            nid = ledger.integrity.records.notification_id(ModelRegistry.REGISTRY_ID, version)
            deployments.append((nid or 0, UUID(str(getattr(domain_event, "run_id")))))  # noqa: B009
    return registry.deployed, deployments


def _completed_at(ledger: MuseumLedger, artist_id: UUID) -> int:
    """The notification id of the artist's ErasureCompleted event."""
    for domain_event in ledger.events.get(artist_id):
        if type(domain_event).__name__ == "ErasureCompleted":
            nid = ledger.integrity.records.notification_id(
                artist_id, domain_event.originator_version
            )
            return nid or 0
    raise IntegrityViolation(f"artist {artist_id} has a certificate but no ErasureCompleted event")


def audit_erasures(ledger: MuseumLedger) -> ErasureAudit:
    """Every recorded certificate verifies under the museum's key, and no model version
    deployed now, or deployed after an erasure was certified, holds a stage of that erasure.
    An open erasure whose stages the deployed version holds is no fault: it waits for its
    scheduled retraining (counted)."""
    deployed, deployments = _deployments(ledger)
    fingerprints: dict[UUID, set[str]] = {}

    def held_by(version: UUID) -> set[str]:
        if version not in fingerprints:
            fingerprints[version] = ledger.get_aggregate(
                version, TrainingRun, "model version"
            ).fingerprints()
        return fingerprints[version]

    certified = verified = awaiting = 0
    checked: set[UUID] = set()
    for artist_id in dict.fromkeys(ledger.ids_with_topic(Artist.ErasureRequested)):
        artist = ledger.get_artist(artist_id)
        stages = {
            stage.fingerprint
            for donation_id in artist.donation_ids
            for stage in ledger.get_aggregate(donation_id, Donation, "donation").stages
        }
        certificate = artist.erasure_certificate
        if certificate is None:
            awaiting += bool(deployed is not None and stages & held_by(deployed))
            continue
        certified += 1
        if "kind" in certificate:  # one from before certificates were signed is only a head,
            _verify_recorded(ledger, artist_id, certificate)  # checked by the log's audit
            verified += 1
        since = _completed_at(ledger, artist_id)
        versions = {version for nid, version in deployments if nid > since}
        for version in sorted(versions | ({deployed} if deployed else set()), key=str):
            checked.add(version)
            held = stages & held_by(version)
            if held:
                when = "is deployed" if version == deployed else "was deployed after that"
                raise IntegrityViolation(
                    f"model version {version} {when}, but its training set holds {len(held)} "
                    f"stage(s) of artist {artist_id}, whose erasure was certified complete "
                    f"(event {since})"
                )
    return ErasureAudit(certified, verified, len(checked), awaiting)


def _verify_recorded(ledger: MuseumLedger, artist_id: UUID, certificate: dict[str, Any]) -> None:
    """The certificate recorded with the erasure verifies offline, and is this artist's."""
    try:
        checked = verify_certificate(certificate, _signer_hex(ledger, certificate.get("tree_head")))
    except ProofError as exc:
        raise IntegrityViolation(
            f"the erasure certificate of artist {artist_id} does not verify: {exc}"
        ) from None
    if checked.artist_id != str(artist_id):
        raise IntegrityViolation(
            f"the erasure certificate recorded for artist {artist_id} is {checked.artist_id}'s"
        )


def _signer_hex(ledger: MuseumLedger, head: object) -> str:
    """The museum's key, current or retired, that a head names by `key_id` (the current key
    for a head that names none, or names a key the museum never held: it then fails to verify)."""
    key_id = head.get("key_id") if isinstance(head, Mapping) else None
    found = ledger.ring.find(key_id) if isinstance(key_id, str) else None
    return (found.public_key if found else ledger.master.public_key_bytes).hex()


def load_proof(path: Path) -> dict[str, Any]:
    """A receipt, signed head or erasure certificate (or erasure status) as JSON."""
    try:
        document = json.loads(path.read_text())
    except OSError as exc:
        raise FileProblem(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise FileProblem(f"{path} is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise FileProblem(f"{path} holds no receipt, head or certificate (not a JSON object)")
    return document


def _head_of(document: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    if "event" in document and "inclusion" in document:
        return "receipt", document["head"]
    if isinstance(document.get("certificate"), dict):
        document = document["certificate"]
    if isinstance(document.get("tree_head"), dict):
        return "certificate", document["tree_head"]
    if "tree_size" in document and "root_hash" in document:
        return "head", document
    raise FileProblem("not a receipt, a signed tree head or an erasure certificate")


def stored_leaves(ledger: MuseumLedger) -> list[bytes]:
    """The leaf hashes as stored now (not the log's in-process cache, which only grows)."""
    return [leaf for _, leaf, _, _ in ledger.integrity.leaves.iterate_after()]


def proven_head(ledger: MuseumLedger, document: Mapping[str, Any]) -> tuple[str, SignedTreeHead]:
    """The kind of proof (receipt, head, certificate) and the signed head it holds, checked
    under the museum's key (the receipt's or certificate's own proofs too); ProofError if not."""
    kind, fields = _head_of(document)
    public_key = _signer_hex(ledger, fields)
    if kind == "receipt":
        verify_receipt(document, public_key)
    if kind == "certificate":
        certificate = certificate_document(document)
        if "kind" in certificate:  # one from before certificates were signed proves its head
            verify_certificate(certificate, public_key)
    try:
        head = SignedTreeHead(
            int(fields["tree_size"]),
            bytes.fromhex(fields["root_hash"]),
            int(fields["timestamp_ms"]),
            str(fields.get("key_id", "")),
            bytes.fromhex(fields["signature"]),
            fields.get("head_id"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ProofError(f"malformed {kind}: {exc}") from None
    head.verify(Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key)))
    return kind, head


def check_against(
    ledger: MuseumLedger, document: Mapping[str, Any] | View, leaves: list[bytes] | None = None
) -> dict[str, Any]:
    """The proof verifies under the museum's key, and today's log still extends what it proves.

    `document` is JSON handed out earlier (a receipt, head or erasure status), or the view it
    was printed from. `leaves` are the stored leaf hashes, already checked by `verify` (read
    afresh if omitted).
    """
    if isinstance(document, View):
        document = document.as_builtins()
    kind, head = proven_head(ledger, document)
    leaves = stored_leaves(ledger) if leaves is None else leaves
    size = len(leaves)
    if size < head.tree_size:
        raise IntegrityViolation(
            f"the log has {size} events but the {kind} proves {head.tree_size}: "
            "events were removed",
            size,
        )
    if merkle.root(leaves[: head.tree_size]) != head.root_hash:
        raise IntegrityViolation(
            f"the log's first {head.tree_size} events no longer have the root the {kind} "
            "proves: events were changed or replaced",
            head.tree_size - 1,
        )
    if kind == "receipt":
        event, index = document["event"], int(document["inclusion"]["leaf_index"])
        leaf = record_leaf(
            int(event["notification_id"]),
            str(event["originator_id"]),
            int(event["originator_version"]),
            str(event["topic"]),
            base64.b64decode(event["state"]),
        )
        if not 0 <= index < size or leaves[index] != leaf:
            raise IntegrityViolation(
                f"event {event['notification_id']} of the receipt is no longer at position "
                f"{index} with the same bytes",
                index,
            )
    return {"kind": kind, "tree_size": head.tree_size, "root_hash": head.root_hash.hex()}


def full_audit(
    ledger: MuseumLedger,
    against: Iterable[Path] = (),
    read_models: Mapping[str, Callable[[MuseumLedger], dict[str, Any]]] | None = None,
    report: VerificationReport | None = None,
) -> AuditRead:
    """Everything `museum ledger verify` checks, as its figures; the first failure raises.

    With `read_models` (even empty) every read model is compared with a rebuild: the ledger's
    own (`ledger.read_models`), then those given by the caller for the packages above the
    ledger, such as `royalties.audit.compare`. `report` is the log's own audit when the caller
    has just run it over the same log (a restore), so it is not run twice."""
    report = ledger.integrity.verify() if report is None else report
    blobs = audit_blobs(ledger, report.blob_refs)
    keys = audit_keys(ledger)
    erasures = audit_erasures(ledger)
    proofs = [{"file": str(path)} | check_against(ledger, load_proof(path)) for path in against]
    projections = (
        None
        if read_models is None
        else {name: model.compare() for name, model in ledger_read_models(ledger).items()}
        | {name: check(ledger) for name, check in read_models.items()}
    )
    record_check(ledger.engine, report.events)  # every check passed: the verify-age metric
    return AuditRead(
        ok=True,
        events=report.events,
        signed_heads_checked=report.heads,
        seconds=round(report.seconds, 4),
        events_per_second=round(report.events_per_second),
        latest_head=report.latest_head.as_dict() if report.latest_head else None,
        leaves_attesting_a_head=report.attested_heads,
        quoted_heads_checked=report.embedded_heads,
        head_rule=(
            f"a signed head after every event whose notification id is a multiple of "
            f"{report.head_every_events}"
            if report.head_every_events
            else "none (head_every_events is 0)"
        ),
        blobs_checked=blobs.stored,
        blobs_referenced=blobs.referenced,
        artists=keys.artists,
        keys_present=keys.keys,
        keys_shredded=keys.shredded,
        erasures_certified=erasures.certified,
        certificates_verified=erasures.certificates_verified,
        deployed_versions_checked=erasures.versions_checked,
        erasures_awaiting_retraining=erasures.awaiting_retraining,
        against=proofs,
        projections=projections,
    )
