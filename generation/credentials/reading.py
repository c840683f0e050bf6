"""Read and validate a file's content credentials offline (c2pa-python's Reader) into a verdict.

Trust comes only from the anchors given (the museum's root by default): C2PA's built-in list is
replaced, nothing is fetched. The verdict separates what a visitor needs to tell apart: a file
with no manifest, one whose pixels or manifest changed after signing, one signed by a key the
museum does not vouch for, and one that is intact and the museum's.
"""

from __future__ import annotations

import io
from typing import Any

import c2pa
import msgspec

from generation.credentials.manifest import RECORD_LABEL, TRAINED_ALGORITHMIC_MEDIA, TRAINING_LABEL
from generation.credentials.signing import MIME, context
from generation.credentials.views import CredentialsCheckRead
from ledger.model_views import CreditLineRead

# Status codes that mean the bytes changed after signing (the hard binding or a hashed link).
TAMPERED = ("dataHash.mismatch", "boxesHash.mismatch", "hashedURI.mismatch", "Signature.mismatch")
UNTRUSTED = ("signingCredential.untrusted", "signingCredential.invalid")


def _failures(results: dict[str, Any] | None) -> list[str]:
    if not results:
        return []
    codes = [f["code"] for f in (results.get("activeManifest") or {}).get("failure", [])]
    for delta in results.get("ingredientDeltas") or []:
        codes += [f["code"] for f in delta.get("validationDeltas", {}).get("failure", [])]
    return list(dict.fromkeys(codes))


def _verdict(state: str | None, failures: list[str]) -> tuple[str, str]:
    if any(code.endswith(TAMPERED) for code in failures):
        return "tampered", "the image or its manifest changed after it was signed"
    if state == "Trusted":
        return "trusted", "intact, and signed by a certificate that chains to a trusted root"
    if state == "Valid" or any(code in UNTRUSTED for code in failures):
        return "untrusted", "intact, but signed by a key that no trusted root vouches for"
    return "invalid", "the manifest does not validate: " + (", ".join(failures) or str(state))


def _source_type(manifests: dict[str, Any], label: str) -> str | None:
    """The digital source type of the `c2pa.created` action, followed down parent ingredients."""
    seen: set[str] = set()
    while label in manifests and label not in seen:
        seen.add(label)
        manifest = manifests[label]
        for assertion in manifest.get("assertions", []):
            if assertion.get("label", "").startswith("c2pa.actions"):
                for action in assertion.get("data", {}).get("actions", []):
                    if action.get("action") == "c2pa.created":
                        return action.get("digitalSourceType")  # type: ignore[no-any-return]
        parents = [
            i for i in manifest.get("ingredients", []) if i.get("relationship") == "parentOf"
        ]
        label = parents[0].get("active_manifest", "") if parents else ""
    return None


def _chain_length(manifests: dict[str, Any], label: str) -> int:
    count, seen = 0, set()
    while label in manifests and label not in seen:
        seen.add(label)
        count += 1
        parents = [
            i
            for i in manifests[label].get("ingredients", [])
            if i.get("relationship") == "parentOf"
        ]
        label = parents[0].get("active_manifest", "") if parents else ""
    return count


def check_png(data: bytes, trust_anchors_pem: str | None) -> CredentialsCheckRead:
    """The verdict on `data`'s content credentials and what its active manifest says."""
    try:
        reader = c2pa.Reader.try_create(MIME, io.BytesIO(data), None, context(trust_anchors_pem))
    except c2pa.C2paError as exc:
        return CredentialsCheckRead(verdict="invalid", explanation=f"unreadable manifest: {exc}")
    if reader is None:
        return CredentialsCheckRead(
            verdict="missing", explanation="the file holds no content credentials (no manifest)"
        )
    with reader:
        state = reader.get_validation_state()
        failures = _failures(reader.get_validation_results())
        store = msgspec.json.decode(reader.json())
    verdict, explanation = _verdict(state, failures)
    label = store.get("active_manifest", "")
    manifests = store.get("manifests", {})
    active = manifests.get(label, {})
    assertions = {a.get("label"): a.get("data") for a in active.get("assertions", [])}
    record = assertions.get(RECORD_LABEL) or {}
    attribution = record.get("attribution") or {}
    source_type = _source_type(manifests, label)
    generator = (active.get("claim_generator_info") or [{}])[0]
    signature = active.get("signature_info") or {}
    return CredentialsCheckRead(
        verdict=verdict,
        explanation=explanation,
        failures=failures,
        manifest_label=label or None,
        claim_generator=" ".join(str(generator.get(k, "")) for k in ("name", "version")).strip()
        or None,
        signer=signature.get("common_name"),
        issuer=signature.get("issuer"),
        ai_generated=source_type == TRAINED_ALGORITHMIC_MEDIA,
        digital_source_type=source_type,
        versions=_chain_length(manifests, label),
        generation_id=record.get("generation_id"),
        model_version=record.get("model_version"),
        seed=record.get("seed"),
        conditioning=record.get("conditioning"),
        attribution_method=attribution.get("method"),
        index_hash=attribution.get("index_hash"),
        credits=[
            CreditLineRead(pseudonym=str(c["pseudonym"]), ppm=int(c["ppm"]))
            for c in attribution.get("credits", [])
        ],
        references=len(attribution.get("references", [])),
        receipt=record.get("receipt"),
        training_mining=(assertions.get(TRAINING_LABEL) or {}).get("entries"),
    )
