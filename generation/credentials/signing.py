"""Sign a PNG with a manifest (c2pa-python's Builder), offline and verified after signing.

Version 1 is a `Create` manifest over the bare image. A later version is an `Update` manifest
(C2PA's intent for a change that leaves the pixels alone) whose one ingredient, its parent, is
the previous signed file: the earlier manifest stays inside the new file, so a reader sees the
whole history and nothing was silently overwritten.
"""

from __future__ import annotations

import io
from typing import Any

import c2pa

from generation.credentials.certificates import ClaimSigner
from ledger.errors import ConfigurationError

MIME = "image/png"


def context(trust_anchors_pem: str | None) -> c2pa.Context:
    """Offline settings: no remote manifests, no OCSP; trust only the given roots (no built-in
    list), and no thumbnail (the image is small and public anyway)."""
    trust: dict[str, Any] = (
        {} if trust_anchors_pem is None else {"trust_anchors": trust_anchors_pem}
    )
    return c2pa.Context.from_dict(
        {
            "trust": trust,
            "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
            "builder": {"thumbnail": {"enabled": False}},
        }
    )


def sign_png(
    png: bytes, definition: dict[str, Any], signer: ClaimSigner, parent: bytes | None
) -> tuple[bytes, str]:
    """The signed file and its active manifest's label. `parent` is the previous version's
    signed file (None for the first); the signed result is read back and must be trusted."""
    ctx = context(signer.trust_anchors_pem)
    try:
        data = _signed(png if parent is None else parent, definition, signer, parent, ctx)
    except c2pa.C2paError as exc:  # the chain, the key or the anchors do not fit together
        raise ConfigurationError(f"content credentials cannot be signed: {exc}") from None
    with c2pa.Reader(MIME, io.BytesIO(data), context=ctx) as reader:
        state = reader.get_validation_state()
        manifest = reader.get_active_manifest()
    if state != "Trusted" or manifest is None:
        raise ConfigurationError(
            f"the freshly signed manifest reads back as {state!r}: check the signing chain "
            "against the configured trust anchors"
        )
    return data, str(manifest["label"])


def _signed(
    source: bytes,
    definition: dict[str, Any],
    signer: ClaimSigner,
    parent: bytes | None,
    ctx: c2pa.Context,
) -> bytes:
    algorithm = c2pa.C2paSigningAlg[signer.algorithm.upper()]
    with (
        c2pa.Signer.from_callback(signer.sign, algorithm, signer.chain_pem, None) as c2pa_signer,
        c2pa.Builder(definition, context=ctx) as builder,
    ):
        if parent is not None:
            builder.set_intent(c2pa.C2paBuilderIntent.UPDATE)
            builder.add_ingredient(
                {"title": "the previous version", "relationship": "parentOf"},
                MIME,
                io.BytesIO(parent),
            )
        else:
            builder.set_intent(
                c2pa.C2paBuilderIntent.CREATE,
                c2pa.C2paDigitalSourceType.TRAINED_ALGORITHMIC_MEDIA,
            )
        signed = io.BytesIO()
        builder.sign(c2pa_signer, MIME, io.BytesIO(source), signed)
    return signed.getvalue()
