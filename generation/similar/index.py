"""The failure-stage index of one model version: features per stage, on disk, kept in step.

One folder per deployed model version under the root (`similar-failures/` in the data
directory), named by the version, its final checkpoint hashes and the feature settings, so a
new deployment (or new settings) starts a new index and the old ones are removed. Inside, one
`features.safetensors` holds the (n, D) matrix under "features" and the item ids (as JSON) in
its metadata, written whole or not at all.

The index holds exactly the stages that may be shown now: `FailureIndexStore.sync` adds the
features of newly eligible stages and drops those that left (consent revoked, donor erased,
key shredded), rewriting the file, so features derived from an erased donor's images do not
outlive the next query.

Also here, pure: `nearest`, the ranking (cosine from the indexed stages' mean, `origin_of`;
ties by item id).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save

from ledger.blobs import write_whole

__all__ = ["FailureIndex", "FailureIndexStore", "nearest", "origin_of"]

_FILE = "features.safetensors"


@dataclass(frozen=True)
class FailureIndex:
    """Unit feature vectors of the indexed stages, one row per item id (`donation:stage`)."""

    item_ids: tuple[str, ...]
    features: torch.Tensor

    def __post_init__(self) -> None:
        if self.features.ndim != 2 or self.features.shape[0] != len(self.item_ids):
            raise ValueError(
                f"{len(self.item_ids)} items need an (n, D) matrix, got {tuple(self.features.shape)}"
            )


def nearest(
    query: torch.Tensor,
    index: FailureIndex,
    candidates: Sequence[str],
    count: int,
    *,
    origin: torch.Tensor | None = None,
) -> list[tuple[str, float]]:
    """The `count` candidates most similar to the (D,) `query`: (item id, cosine), most
    similar first, equal similarities by item id. Candidates not in the index are skipped.

    With `origin`, vectors are taken from it before the cosine (`origin_of`): what the model
    answers to any image at that noise level would otherwise make every pair look alike
    (cosines of 0.99 and more)."""
    rows = {item_id: row for row, item_id in enumerate(index.item_ids)}
    wanted = [c for c in dict.fromkeys(candidates) if c in rows]
    if not wanted or count < 1:
        return []
    centre = torch.zeros_like(query) if origin is None else origin.to(query.dtype)
    matrix = F.normalize(index.features[[rows[c] for c in wanted]] - centre, dim=1)
    target = F.normalize(query - centre, dim=0)
    similarity = (matrix @ target).tolist()
    ranked = sorted(zip(wanted, similarity, strict=True), key=lambda pair: (-pair[1], pair[0]))
    return [(item_id, float(score)) for item_id, score in ranked[:count]]


def origin_of(index: FailureIndex, blank: torch.Tensor) -> torch.Tensor:
    """Where similarities are measured from: the mean of the indexed stages (what they share),
    or, with fewer than two indexed, the features of an empty page (`blank`)."""
    if len(index.item_ids) < 2:
        return blank
    return index.features.mean(dim=0)


def folder_name(version: str, checkpoint_hashes: Sequence[str], settings: dict[str, object]) -> str:
    digest = hashlib.sha256(
        json.dumps(
            {"checkpoints": list(checkpoint_hashes), "settings": settings}, sort_keys=True
        ).encode()
    ).hexdigest()[:16]
    return f"{version}-{digest}"


class FailureIndexStore:
    """The index of one model version in its folder; the one place here that touches files."""

    def __init__(self, root: Path, name: str) -> None:
        self.root = root
        self.folder = root / name
        self.path = self.folder / _FILE

    def load(self) -> FailureIndex | None:
        if not self.path.is_file():
            return None
        try:
            with safe_open(str(self.path), framework="pt") as opened:
                item_ids = tuple(json.loads(opened.metadata()["item_ids"]))
                return FailureIndex(item_ids, opened.get_tensor("features"))
        except (OSError, KeyError, ValueError, TypeError, RuntimeError):
            return None  # unreadable or from another format: it is rebuilt

    def save(self, index: FailureIndex) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        payload = save(
            {"features": index.features.contiguous()},
            metadata={"item_ids": json.dumps(list(index.item_ids))},
        )
        write_whole(self.path, bytes(payload), prefix=".features-", suffix=".tmp")

    def remove_others(self) -> None:
        """Remove the indexes of other versions (or settings): they are not served any more."""
        if not self.root.is_dir():
            return
        for other in self.root.iterdir():
            if other.is_dir() and other != self.folder:
                shutil.rmtree(other, ignore_errors=True)

    def sync(
        self, eligible: Sequence[str], compute: Callable[[list[str]], torch.Tensor]
    ) -> FailureIndex:
        """The index holding exactly `eligible`: rows kept from the file, features computed for
        the rest (`compute(item_ids)` → (len, D)), saved again when anything changed."""
        wanted = list(dict.fromkeys(eligible))
        known = self.load()
        if known is None:
            self.remove_others()  # a new version (or settings): the old indexes go
        rows = {} if known is None else {i: r for r, i in enumerate(known.item_ids)}
        missing = [item_id for item_id in wanted if item_id not in rows]
        if known is not None and not missing and len(rows) == len(wanted):
            return known
        fresh = compute(missing) if missing else torch.empty(0)
        position = {item_id: n for n, item_id in enumerate(missing)}
        parts: list[torch.Tensor] = []
        for item_id in wanted:
            if item_id in rows:
                assert known is not None
                parts.append(known.features[rows[item_id]])
            else:
                parts.append(fresh[position[item_id]])
        width = 0 if not parts else parts[0].shape[0]
        matrix = torch.stack(parts) if parts else torch.empty((0, width))
        index = FailureIndex(tuple(wanted), matrix.float().contiguous())
        self.save(index)
        return index
