"""Attribution against a training run: its items, its checkpoints, its index on disk.

A run's training set is what its start event snapshotted (ids, stages, classes) and its
checkpoints are the content-hashed raw weights it saved, so an index rebuilt from the ledger is
the same index. Sharded runs get one index per shard: a shard model only saw its own items, and
the generation's ensemble averages the shards, so each item is scored by its own shard's model.

A shard's index is keyed by what determines it, not by the run: under
`<root>/<method>-<settings hash>/<shard key>`, where the settings hash covers the method's
settings and the seed, and the shard key the hashes of the checkpoints used and the shard's item
ids. A retraining run that reuses a shard's checkpoints therefore finds that shard's index built
already, and only the retrained shards are indexed again. Indexes are built on first use, from
decrypted stage images; once an artist is erased their images cannot be read, so an index that
already exists keeps their items (their pseudonymous credit line survives, as the ledger
promises) and one built later leaves them out and says so. A shard none of whose items can be
read any more scores nothing, and all its items are reported excluded.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from attribution.front import Attributor
from attribution.methods import Method, build_attributor, measured_agreement
from attribution.store import IndexStore
from generation.model import build_unet, images_to_tensor, label_to_class, training_scheduler
from generation.presets import ModelConfig
from generation.service import load_checkpoint
from ledger.application import MuseumLedger
from ledger.domain.model import Generation, TrainingRun
from ledger.errors import Conflict, InvalidInput, KeyShredded
from ledger.shards import members_by_shard
from ledger.training_snapshot import TrainingItem

__all__ = ["RunAttribution", "RunScores", "index_directory"]


@dataclass(frozen=True)
class RunScores:
    """Scores of one generation against every indexed item of its run, and how they were made."""

    scores: dict[str, float]
    index_hash: str
    parameters: dict[str, Any]
    seconds: float
    excluded: list[str] = field(default_factory=list)


def _digest(data: object, length: int = 16) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def index_directory(
    root: Path, method: Method, seed: int, checkpoint_hashes: list[str], item_ids: list[str]
) -> Path:
    """Where the index of one shard lives: keyed by the method's settings and the seed, the
    checkpoints it differentiates (oldest first) and the shard's items (in any order)."""
    settings = _digest({"method": method.parameters(), "seed": seed})
    shard = _digest({"checkpoints": list(checkpoint_hashes), "items": sorted(item_ids)}, 24)
    return root / f"{method.name}-{settings}" / shard


class RunAttribution:
    """Scores generations of one model version against the items of its training run."""

    def __init__(
        self,
        ledger: MuseumLedger,
        run: TrainingRun,
        method: Method,
        root: Path,
        *,
        seed: int = 0,
        batch_size: int = 16,
        on_build: Callable[[int, int], None] | None = None,
    ) -> None:
        if run.state != "completed":
            raise Conflict(f"training run {run.id} is {run.state}: only a model version is scored")
        if not run.checkpoints:
            raise InvalidInput(f"training run {run.id} has no checkpoints to attribute with")
        self.ledger = ledger
        self.run = run
        self.method = method
        self.seed = seed
        self.batch_size = batch_size
        self.on_build = on_build
        self.config = ModelConfig.from_dict(run.config["model"])
        self.root = root
        items = [TrainingItem.from_dict(item) for item in run.items]
        self.shards = members_by_shard(items, run.shards)
        # A dropped shard (no items left) has no model and nothing to score.
        self.live_shards = [s for s in range(run.shards) if s not in run.dropped_shards]
        self._attributors: dict[int, tuple[Attributor | None, list[str]]] = {}

    def _saved(self, shard: int) -> list[dict[str, Any]]:
        """The shard's checkpoints used: at its last saved steps (all, or the method's count),
        oldest first."""
        saved = sorted(
            (c for c in self.run.checkpoints if c["shard"] == shard), key=lambda c: c["step"]
        )
        if not saved:
            raise InvalidInput(f"shard {shard} of run {self.run.id} has no checkpoints")
        if self.method.checkpoints:
            saved = saved[-self.method.checkpoints :]
        return saved

    def index_directory(self, shard: int) -> Path:
        """Where the shard's index lives (shared with every run that has the same shard)."""
        return index_directory(
            self.root,
            self.method,
            self.seed,
            [c["hash"] for c in self._saved(shard)],
            [item.item_id for item in self.shards[shard]],
        )

    def _checkpoints(self, shard: int) -> list[tuple[str, dict[str, torch.Tensor]]]:
        """The shard's raw (not EMA) weights at the checkpoints used."""
        return [
            (c["hash"], load_checkpoint(self.ledger.blobs.get(c["blob_id"]), ema=False))
            for c in self._saved(shard)
        ]

    # --- what the model sees: the stage model's; `attribution.continuation` overrides these --

    context_channels = 0

    def _shape(self) -> tuple[int, int, int]:
        """Shape of one item's (or query's) input to the gradient computer."""
        size = self.config.resolution
        return (self.config.channels + self.context_channels, size, size)

    def _model(self) -> torch.nn.Module:
        return build_unet(self.config)

    def _read(self, item: TrainingItem) -> list[bytes]:
        """The images of one item, decrypted (KeyShredded once its artist is erased)."""
        return [self.ledger.stage_image(item.donation_id, item.stage_index)]

    def _class_ids(self, members: list[TrainingItem]) -> list[int]:
        return [label_to_class(item.role, item.emotion) for item in members]

    def _query(self, generation: Generation) -> tuple[torch.Tensor, list[int]]:
        """The generated image and the class it was conditioned on."""
        query = images_to_tensor([self.ledger.blobs.get(generation.blob_id)], self.config)
        role, emotion = generation.conditioning["role"], generation.conditioning["emotion"]
        return query, [label_to_class(role, emotion)]

    def _readable(self, members: list[TrainingItem]) -> tuple[list[TrainingItem], torch.Tensor]:
        """Members whose images can still be decrypted, and those images (channels stacked)."""
        kept: list[TrainingItem] = []
        rows: list[torch.Tensor] = []
        for item in members:
            try:
                images = self._read(item)
            except KeyShredded:
                continue
            kept.append(item)
            rows.append(torch.cat(list(images_to_tensor(images, self.config)), dim=0))
        stacked = torch.stack(rows) if rows else torch.zeros((0, *self._shape()))
        return kept, stacked

    def _attributor(self, shard: int) -> tuple[Attributor | None, list[str]]:
        """The shard's attributor with its index loaded (or built), and the excluded ids; no
        attributor when none of the shard's items can be read and no index holds them."""
        if shard in self._attributors:
            return self._attributors[shard]
        members = self.shards[shard]
        store = IndexStore(self.index_directory(shard))
        shape = self._shape()
        if store.exists():
            # 1. A stored index needs no images: it is checked against the run, then used. It
            # may lack items (erased before it was built), never hold others.
            indexed = set(self._stored_item_ids(store))
            expected = {item.item_id for item in members}
            if not indexed or not indexed <= expected:
                raise self._foreign(store, shard, "it holds items this shard never had")
            members = [item for item in members if item.item_id in indexed]
            excluded = sorted(expected - indexed)
            images = torch.zeros((len(members), *shape))
        else:
            # 2. Otherwise decrypt what can still be read and build it.
            members, images = self._readable(members)
            excluded = sorted(
                {i.item_id for i in self.shards[shard]} - {i.item_id for i in members}
            )
            if not members:
                self._attributors[shard] = (None, excluded)  # every item of it was erased
                return self._attributors[shard]
        attributor = build_attributor(
            self.method,
            model_factory=self._model,
            checkpoints=self._checkpoints(shard),
            scheduler=training_scheduler(self.config),
            item_ids=[item.item_id for item in members],
            images=images,
            class_ids=self._class_ids(members),
            seed=self.seed,
            store=store,
            batch_size=self.batch_size,
            context_channels=self.context_channels,
        )
        try:
            if store.exists():
                attributor.load_index()
            else:
                if self.on_build is not None:
                    self.on_build(shard, len(members))
                attributor.build_index()
        except ValueError as exc:
            raise self._foreign(store, shard, str(exc)) from None
        self._attributors[shard] = (attributor, excluded)
        return self._attributors[shard]

    def _foreign(self, store: IndexStore, shard: int, why: str) -> Conflict:
        return Conflict(
            f"the attribution index in {store.directory} does not belong to shard {shard} of "
            f"run {self.run.id} under method {self.method.name} ({why}); remove it to rebuild"
        )

    @staticmethod
    def _stored_item_ids(store: IndexStore) -> list[str]:
        try:
            manifest = json.loads((store.directory / "manifest.json").read_text())
            return [str(i) for i in manifest["item_ids"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise Conflict(
                f"the attribution index in {store.directory} is unreadable: {exc}"
            ) from None

    def build(self) -> str:
        """Build (or load) every shard's index; the combined index hash."""
        attributors = [self._attributor(shard)[0] for shard in self.live_shards]
        hashes = [a.index_hash for a in attributors if a is not None]
        if not hashes:
            raise InvalidInput(
                f"no training item of run {self.run.id} can be read any more, and no index "
                "of them was built before: there is nothing to attribute to"
            )
        return (
            hashes[0] if len(hashes) == 1 else hashlib.sha256("".join(hashes).encode()).hexdigest()
        )

    def score(self, generation: Generation) -> RunScores:
        """Every indexed item's score for the generation (positive: it lowered its loss)."""
        if generation.model_version != self.run.id:
            raise InvalidInput(
                f"generation {generation.id} was made by model version {generation.model_version}, "
                f"not by run {self.run.id}"
            )
        index_hash = self.build()
        started = time.perf_counter()
        # 1. The query: the generated image and what it was conditioned on.
        query, label = self._query(generation)
        scores: dict[str, float] = {}
        excluded: list[str] = []
        for shard in self.live_shards:
            # 2. Score against each shard's items with that shard's checkpoints.
            attributor, missing = self._attributor(shard)
            excluded += missing
            if attributor is None:
                continue
            row = attributor.score(query, label)[0]
            scores.update(zip(attributor.item_ids, (float(v) for v in row), strict=True))
        agreement = measured_agreement(self.method)
        return RunScores(
            scores=scores,
            index_hash=index_hash,
            parameters={
                **self.method.parameters(),
                "seed": self.seed,
                "projection_seeds": list(self.method.projection_seeds(self.seed)),
                **({"agreement": agreement} if agreement is not None else {}),
                "checkpoint_hashes": sorted(
                    h for a, _ in self._attributors.values() if a for h, _ in a.checkpoints
                ),
                "shards": len(self.live_shards),
                "excluded_items": len(excluded),
            },
            seconds=time.perf_counter() - started,
            excluded=sorted(excluded),
        )
