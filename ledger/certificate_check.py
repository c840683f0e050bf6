"""Offline verification of an erasure certificate: no database, no museum state.

    from ledger.certificate_check import verify_certificate
    verify_certificate(certificate_json, trusted_public_key_hex)

A certificate (`ledger.erasure_certificate`) claims what was erased and how the model was rid of
it, and carries the events that prove each claim, each with its inclusion path under one signed
tree head. Verification (1) checks the head's signature under the key you trust (obtained from
the museum out of band; the copy inside is only a hint), (2) walks every event's path up to the
head's root, (3) checks every claim against the proven events' stored state, and (4) checks the
museum's signature over the whole document. The first thing that does not hold is a ProofError
whose one line says what is wrong.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.certificate_claims import Claims, Fact
from ledger.certificate_format import (
    CERTIFICATE_KIND,
    ROLES,
    CertificateDocument,
    event_class,
    signed_bytes,
)
from ledger.donor_views import CertificateCheckRead
from ledger.errors import ProofError
from ledger.proof_parts import (
    check_inclusion,
    event_leaf,
    event_state,
    head_signed_by,
    load_json,
    structure,
    trusted_key,
)

# Events of a few training runs with their whole training sets: megabytes, not more.
MAX_CERTIFICATE_BYTES = 16 << 20


def certificate_document(value: Any) -> Any:
    """The certificate inside what a caller saved: the certificate itself (the API's
    certificate download), or an erasure status (`certificate` field)."""
    if isinstance(value, Mapping) and "certificate" in value and "kind" not in value:
        if value["certificate"] is None:
            raise ProofError("the erasure status holds no certificate: the erasure is not complete")
        return value["certificate"]
    return value


def load_certificate(path: Path) -> Any:
    """The certificate in a file (see `certificate_document`); FileProblem if the file cannot
    be read, is too large or is not JSON text."""
    return certificate_document(load_json(path, MAX_CERTIFICATE_BYTES, "an erasure certificate"))


def verify_certificate(
    document: Mapping[str, Any] | msgspec.Struct, public_key_hex: str
) -> CertificateCheckRead:
    """What the certificate proves, or ProofError naming the first thing that does not hold."""
    if isinstance(document, Mapping) and "kind" not in document and "tree_head" in document:
        raise ProofError(
            "an erasure certificate from before certificates were signed: it proves only its "
            "tree head (museum ledger verify --against checks that)"
        )
    cert = structure(CertificateDocument, document, "certificate")
    if cert.kind != CERTIFICATE_KIND:
        raise ProofError(f"not an erasure certificate: kind is {cert.kind!r}")
    public_key = trusted_key(public_key_hex)
    _check_head_key(cert, public_key)
    facts = _proven(cert)
    Claims(cert, facts).check()
    try:
        public_key.verify(bytes.fromhex(cert.signature), signed_bytes(_body(document)))
    except InvalidSignature:
        raise ProofError(
            "the certificate's signature does not verify under the trusted key: "
            "it was changed after it was signed"
        ) from None
    return CertificateCheckRead(
        artist_id=str(UUID(cert.artist_id)),
        donations=len(cert.donations_withdrawn),
        items=len(cert.items),
        retraining_runs=[str(UUID(r)) for r in cert.retraining_runs],
        shards_reused=sum(len(run.shards_reused) for run in cert.retraining),
        model_version=None if cert.model_version is None else str(UUID(cert.model_version.version)),
        events_checked=len(facts),
        tree_size=cert.tree_head.tree_size,
        root_hash=cert.tree_head.root_hash.lower(),
        key_id=_key_id(public_key),
    )


def _body(document: Mapping[str, Any] | msgspec.Struct) -> dict[str, Any]:
    if isinstance(document, msgspec.Struct):
        built: dict[str, Any] = msgspec.to_builtins(document)
        return built
    return dict(document)


def _key_id(public_key: Ed25519PublicKey) -> str:
    return hashlib.sha256(public_key.public_bytes_raw()).hexdigest()[:16]


def _check_head_key(cert: CertificateDocument, public_key: Ed25519PublicKey) -> None:
    """The head is signed by the trusted key; if not, say whether another key signed it."""
    if head_signed_by(cert.tree_head, public_key):
        return
    try:
        hinted = Ed25519PublicKey.from_public_bytes(bytes.fromhex(cert.public_key))
    except ValueError:
        hinted = None
    other = hinted is not None and hinted.public_bytes_raw() != public_key.public_bytes_raw()
    if hinted is not None and other and head_signed_by(cert.tree_head, hinted):
        raise ProofError(
            f"the certificate is signed by another key ({_key_id(hinted)}), not the trusted "
            f"one ({_key_id(public_key)}): it is another museum's, or the key given is wrong"
        )
    raise ProofError("the tree head's signature does not verify under the trusted key")


def _proven(cert: CertificateDocument) -> list[Fact]:
    """Every event, its role and its inclusion under the one signed head."""
    facts: list[Fact] = []
    seen: set[int] = set()
    for index, proven in enumerate(cert.events):
        event, shows = proven.event, proven.shows
        where = f"certificate: events.{index}.event"
        name = event_class(event.topic)
        if ROLES.get(shows) != name:
            raise ProofError(f"events.{index} shows {shows!r}, which a {name} event cannot show")
        if event.notification_id in seen:
            raise ProofError(f"event {event.notification_id} is listed twice")
        seen.add(event.notification_id)
        state = event_state(event, where)
        try:
            check_inclusion(event_leaf(event, state, where), proven.inclusion, cert.tree_head)
        except ProofError as exc:
            raise ProofError(
                f"event {event.notification_id} ({shows}) is not in the log under the signed "
                f"head: {exc} (its stored bytes or its path were changed)"
            ) from None
        try:
            decoded = json.loads(state)
            originator = UUID(event.originator_id)
        except ValueError:
            raise ProofError(
                f"event {event.notification_id} ({shows}) is not a museum event (its state or "
                "originator does not read)"
            ) from None
        if not isinstance(decoded, dict):
            raise ProofError(f"event {event.notification_id} ({shows}) holds no object")
        facts.append(
            Fact(
                shows,
                name,
                originator,
                event.originator_version,
                event.notification_id,
                _plain(decoded),
            )
        )
    return facts


def _plain(value: Any) -> Any:
    """eventsourcing's JSON transcoding undone: ids as canonical UUID text, times as ISO text."""
    if isinstance(value, dict):
        if set(value) == {"_type_", "_data_"}:
            if value["_type_"] == "uuid_hex" and isinstance(value["_data_"], str):
                try:
                    return str(UUID(value["_data_"]))
                except ValueError:
                    return value["_data_"]
            return _plain(value["_data_"])
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value
