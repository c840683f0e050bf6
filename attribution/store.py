"""On-disk attribution index: the only role that touches storage.

Layout of a directory: `manifest.json` (seeds, timesteps, k, output function, checkpoint
hashes, item ids and a content hash) and one `features-<n>.safetensors` per checkpoint (per
checkpoint and projection, checkpoint-major, for an ensemble of projections: `extra` then lists
their `projection_seeds`) holding its (n_items × k) float32 feature matrix under the key
"features". The content hash is sha256 over the canonical JSON of the manifest (without the
hash) and each feature file's tensor bytes, so `load` detects any edit or a mismatched file.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from ledger.blobs import write_whole

__all__ = ["FORMAT_VERSION", "AttributionIndex", "IndexStore", "content_hash"]

FORMAT_VERSION = 1
_MANIFEST = "manifest.json"


@dataclass(frozen=True)
class AttributionIndex:
    """Projected training features per checkpoint and everything needed to rebuild them."""

    item_ids: tuple[str, ...]
    checkpoint_hashes: tuple[str, ...]
    features: tuple[torch.Tensor, ...]  # one (n_items, dim) float32 matrix per checkpoint
    output: str
    timesteps: tuple[int, ...]
    dim: int
    seed: int
    regularisation: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def projections(self) -> int:
        """How many projections each checkpoint's gradients were projected with."""
        return len(self.extra.get("projection_seeds") or [self.seed])

    def __post_init__(self) -> None:
        if len(self.features) != len(self.checkpoint_hashes) * self.projections:
            raise ValueError("one feature matrix per checkpoint hash and projection is required")
        for f in self.features:
            if f.shape != (len(self.item_ids), self.dim):
                raise ValueError(
                    f"feature matrix of shape {tuple(f.shape)}; expected "
                    f"({len(self.item_ids)}, {self.dim})"
                )

    def manifest(self) -> dict[str, Any]:
        """Everything but the features, as JSON-ready data (no content hash)."""
        data = asdict(self)
        del data["features"]
        data["item_ids"] = list(self.item_ids)
        data["checkpoint_hashes"] = list(self.checkpoint_hashes)
        data["timesteps"] = list(self.timesteps)
        data["format_version"] = FORMAT_VERSION
        return data


def content_hash(index: AttributionIndex) -> str:
    """sha256 over the canonical manifest JSON and each feature matrix's raw bytes."""
    digest = hashlib.sha256()
    digest.update(json.dumps(index.manifest(), sort_keys=True).encode())
    for features in index.features:
        tensor = features.detach().to("cpu", torch.float32).contiguous()
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


class IndexStore:
    """Saves and loads one `AttributionIndex` in a directory."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        if not isinstance(directory, str | os.PathLike):
            raise ValueError(f"directory must be a path, got {type(directory).__name__}")
        self.directory = Path(directory)

    def exists(self) -> bool:
        """Whether an index has been saved here."""
        return (self.directory / _MANIFEST).is_file()

    def save(self, index: AttributionIndex) -> str:
        """Write features then manifest (manifest last, so a half-written index never loads);
        returns the content hash."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for n, features in enumerate(index.features):
            # 1. One safetensors file per checkpoint, named by position in the manifest.
            tensor = features.detach().to("cpu", torch.float32).contiguous()
            save_file({"features": tensor}, str(self.directory / f"features-{n}.safetensors"))
        manifest = index.manifest()
        manifest["content_hash"] = content_hash(index)
        text = json.dumps(manifest, sort_keys=True, indent=2)
        write_whole(self.directory / _MANIFEST, text.encode(), prefix=f".{_MANIFEST}.")
        return str(manifest["content_hash"])

    def load(self) -> AttributionIndex:
        """Read and verify an index; ValueError if missing, malformed or altered."""
        path = self.directory / _MANIFEST
        if not path.is_file():
            raise ValueError(f"no attribution index in {self.directory}")
        try:
            data = json.loads(path.read_text())
            version = data.pop("format_version")
            expected = data.pop("content_hash")
            projections = len(data.get("extra", {}).get("projection_seeds") or [0])
            features = tuple(
                load_file(str(self.directory / f"features-{n}.safetensors"))["features"]
                for n in range(len(data["checkpoint_hashes"]) * projections)
            )
            index = AttributionIndex(
                item_ids=tuple(data["item_ids"]),
                checkpoint_hashes=tuple(data["checkpoint_hashes"]),
                features=features,
                output=data["output"],
                timesteps=tuple(data["timesteps"]),
                dim=int(data["dim"]),
                seed=int(data["seed"]),
                regularisation=float(data["regularisation"]),
                extra=dict(data.get("extra", {})),
            )
        except Exception as exc:  # OSError, KeyError, safetensors errors, bad JSON, ...
            raise ValueError(f"attribution index in {self.directory} is malformed: {exc}") from exc
        if version != FORMAT_VERSION:
            raise ValueError(f"unsupported index format version {version!r}")
        if content_hash(index) != expected:
            raise ValueError(f"attribution index in {self.directory} fails its content hash")
        return index
