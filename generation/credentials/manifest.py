"""What a generated image's C2PA manifest says: pure data, no C2PA library, no I/O.

- `c2pa.actions.v2`: `c2pa.created` with the IPTC digital source type `trainedAlgorithmicMedia`
  (the EU AI Act's machine-readable mark), the museum's model as software agent; a re-issued
  version instead says `c2pa.edited.metadata` (the pixels are the same, the record changed) and
  names the earlier version as its parent ingredient.
- `org.museum-of-failures.ledger-record` (ours): the generation's ledger record — model version,
  checkpoints, seed, steps, conditioning, the digest of the image as the ledger holds it — the
  attribution (method, index hash, credit lines by pseudonym with ppm shares, and the credited
  donated stages as references by keyed fingerprint: never a donor's image, never an identity)
  and the ledger receipt of the generation's event (event, inclusion proof, signed head).
- `cawg.training-mining`: the museum's terms for training on the image (`TRAINING_TERMS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from ledger.model_views import AttributionRead, GenerationRead
from ledger.views import ReceiptRead

RECORD_LABEL = "org.museum-of-failures.ledger-record"
TRAINING_LABEL = "cawg.training-mining"
TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
CLAIM_GENERATOR = "Failure Museum Ledger"
MODEL_AGENT = "the Museum of Failures' diffusion model"
# The donors gave their processes for the museum's own model; the images it makes may be shown,
# licensed and described, but are not for training another generative model or for mining.
TRAINING_TERMS: dict[str, dict[str, str]] = {
    "cawg.ai_inference": {"use": "allowed"},
    "cawg.ai_generative_training": {"use": "notAllowed"},
    "cawg.ai_training": {"use": "notAllowed"},
    "cawg.data_mining": {
        "use": "constrained",
        "constraint_info": "research only, with the museum's written agreement",
    },
}


@dataclass(frozen=True)
class Reference:
    """A credited donated stage, as the manifest may name it: by keyed fingerprint and role."""

    fingerprint: str
    role: str
    ppm: int


@dataclass(frozen=True)
class LedgerRecord:
    """Everything the manifest's own assertion carries about one generation."""

    generation: GenerationRead
    receipt: ReceiptRead
    attribution: AttributionRead | None
    references: list[Reference]


def record_assertion(record: LedgerRecord) -> dict[str, Any]:
    """The data of the museum's assertion."""
    g = record.generation
    attribution = record.attribution
    return {
        "generation_id": g.generation_id,
        "made_at": g.made_at,
        "model_version": g.model_version,
        "checkpoint_hashes": g.checkpoint_hashes,
        "seed": g.seed,
        "steps": g.steps,
        "conditioning": {"role": g.role, "emotion": g.emotion},
        "output_sha256": g.output_sha256,
        "attribution": None
        if attribution is None
        else {
            "attribution_id": attribution.attribution_id,
            "method": attribution.method,
            "index_hash": attribution.index_hash,
            "k": attribution.k,
            "credits": [msgspec.to_builtins(line) for line in attribution.credits],
            "references": [
                {"fingerprint": r.fingerprint, "role": r.role, "ppm": r.ppm}
                for r in record.references
            ],
        },
        "receipt": msgspec.to_builtins(record.receipt),
    }


def definition(
    record: LedgerRecord, *, version: int, version_tag: str, creates: bool
) -> dict[str, Any]:
    """The manifest definition c2pa's Builder signs: `creates` for a version with no parent
    (the first, or one issued after an erasure shredded every earlier one), else an update."""
    g = record.generation
    if creates:
        action: dict[str, Any] = {
            "action": "c2pa.created",
            "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
            "softwareAgent": {"name": MODEL_AGENT, "version": g.model_version},
        }
    else:
        credited = "re-attributed" if record.attribution is not None else "record updated"
        action = {
            "action": "c2pa.edited.metadata",
            "description": f"{credited}: version {version} of the content credentials",
        }
    return {
        "claim_generator_info": [{"name": CLAIM_GENERATOR, "version": version_tag}],
        "title": f"{g.role}, {g.emotion} (generation {g.generation_id}, credentials v{version})",
        "format": "image/png",
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": [action]}},
            {"label": RECORD_LABEL, "data": record_assertion(record)},
            {"label": TRAINING_LABEL, "data": {"entries": TRAINING_TERMS}},
        ],
    }
