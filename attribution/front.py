"""`Attributor`: the one class callers use to credit generations to training items.

It wires the roles together: `GradientComputer` (per-example gradients at each checkpoint),
a `Projector` (p → dim: seeded sparse JL or chunked Gaussian), `TrakScorer` (kernel and
ensemble) and `IndexStore` (persistence). Each can be swapped by passing another object to the constructor. Everything
random is seeded, so a rebuild with the same arguments gives bit-identical features and scores.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from attribution._seeding import check_seed
from attribution.gradients import OUTPUT_FUNCTIONS, GradientComputer
from attribution.projector import PROJECTIONS, Projector, make_projector
from attribution.scoring import TrakScorer
from attribution.store import AttributionIndex, IndexStore, content_hash
from ledger.shares import highest

__all__ = ["Attributor"]

StateDict = Mapping[str, torch.Tensor]


class Attributor:
    """TRAK / D-TRAK attribution over a fixed training set and a list of checkpoints.

    `model_factory()` must return a fresh model of the trained architecture; each checkpoint is
    (hash, state_dict) and its hash is checked with `generation.model.checkpoint_hash` when
    `verify_hashes` is on. Scores follow `attribution.scoring`: positive means the item lowered
    the query's loss. `output` is the output function differentiated for training items and
    `query_output` (default: the same) the one for queries.

    `seed` draws the gradients' timestep noise; `projection_seeds` (default: `(seed,)`, one
    projection seeded like the noise, as every index before them) are the seeds of an ensemble
    of R projections: each gradient is computed once and projected R times, the index holds
    R feature matrices per checkpoint (checkpoint-major), and a score is the mean over
    checkpoints and projections, so no single projection seed decides a credit.

    `context_channels` (`GradientComputer`): the images' trailing channels are conditioning,
    e.g. the previous stage a continuation model was shown beside each training item.
    """

    def __init__(
        self,
        model_factory: Callable[[], torch.nn.Module],
        checkpoints: Sequence[tuple[str, StateDict]],
        scheduler: Any,
        item_ids: Sequence[str],
        images: torch.Tensor,
        class_ids: Sequence[int] | torch.Tensor,
        output: str = "loss",
        timesteps: Sequence[int] = (100, 300, 500, 700, 900),
        dim: int = 1024,
        seed: int = 0,
        regularisation: float = 1e-3,
        store: IndexStore | None = None,
        batch_size: int = 16,
        chunk_rows: int = 8192,
        verify_hashes: bool = True,
        scorer: TrakScorer | None = None,
        query_output: str | None = None,
        projection: str = "gaussian",
        timestep_groups: int = 1,
        projection_seeds: Sequence[int] | None = None,
        context_channels: int = 0,
    ) -> None:
        # Validate eagerly: a bad argument must fail here, not minutes into build_index().
        if not callable(model_factory):
            raise ValueError("model_factory must be callable")
        if not checkpoints:
            raise ValueError("at least one checkpoint (hash, state_dict) is required")
        for entry in checkpoints:
            if (
                not isinstance(entry, tuple)
                or len(entry) != 2
                or not isinstance(entry[0], str)
                or not isinstance(entry[1], Mapping)
            ):
                raise ValueError("each checkpoint must be a (hash, state_dict) pair")
        if isinstance(item_ids, str) or any(not isinstance(i, str) for i in item_ids):
            raise ValueError("item_ids must be a sequence of strings")
        if len(set(item_ids)) != len(item_ids) or not item_ids:
            raise ValueError("item_ids must be non-empty and unique")
        if not isinstance(images, torch.Tensor) or images.ndim != 4:
            raise ValueError("images must be an (N, C, H, W) tensor")
        if images.shape[0] != len(item_ids):
            raise ValueError(f"{images.shape[0]} images for {len(item_ids)} item ids")
        labels = torch.as_tensor(class_ids, dtype=torch.long)
        if labels.shape != (len(item_ids),):
            raise ValueError(f"class_ids must hold {len(item_ids)} values, one per item")
        if not isinstance(output, str) or output not in OUTPUT_FUNCTIONS:
            raise ValueError(
                f"unknown output {output!r}; expected one of: {', '.join(sorted(OUTPUT_FUNCTIONS))}"
            )
        if query_output is not None and query_output not in OUTPUT_FUNCTIONS:
            raise ValueError(
                f"unknown query output {query_output!r}; expected one of: "
                f"{', '.join(sorted(OUTPUT_FUNCTIONS))}"
            )
        if not isinstance(projection, str) or projection not in PROJECTIONS:
            raise ValueError(
                f"unknown projection {projection!r}; expected one of: {', '.join(PROJECTIONS)}"
            )
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"dim must be a positive integer, got {dim!r}")
        if store is not None and not isinstance(store, IndexStore):
            raise ValueError("store must be an IndexStore or None")
        seeds = (seed,) if projection_seeds is None else tuple(projection_seeds)
        if isinstance(projection_seeds, str | bytes) or not seeds or len(set(seeds)) != len(seeds):
            raise ValueError("projection_seeds must be a non-empty sequence of distinct seeds")
        self.model_factory = model_factory
        self.checkpoints = list(checkpoints)
        self.scheduler = scheduler
        self.item_ids = tuple(item_ids)
        self.images = images.detach().to(torch.float32)
        self.class_ids = labels
        self.output = output
        self.query_output = query_output if query_output is not None else output
        self.projection = projection
        self.timestep_groups = timestep_groups
        self.context_channels = context_channels
        self.timesteps = tuple(timesteps)
        self.dim = dim
        self.seed = check_seed(seed)
        self.projection_seeds = tuple(check_seed(s) for s in seeds)
        self.regularisation = regularisation
        self.store = store
        self.batch_size = batch_size
        self.chunk_rows = chunk_rows
        self.verify_hashes = verify_hashes
        self.scorer = scorer if scorer is not None else TrakScorer(regularisation)
        self.index: AttributionIndex | None = None
        # Models and projectors are kept once made: a query then pays only for its gradients.
        self._computers: dict[tuple[int, str], GradientComputer] = {}
        self._projectors: dict[tuple[int, int], Projector] = {}
        # Build one computer now so that bad timesteps / batch sizes fail at construction.
        self._computer(0, self.output)

    def _computer(self, checkpoint: int, output: str) -> GradientComputer:
        key = (checkpoint, output)
        if key not in self._computers:
            model = self.model_factory()
            try:
                model.load_state_dict(dict(self.checkpoints[checkpoint][1]))
            except RuntimeError as exc:  # missing/unexpected keys or wrong shapes
                raise ValueError(f"checkpoint does not fit the model: {exc}") from exc
            self._computers[key] = GradientComputer(
                model,
                self.scheduler,
                output,
                self.timesteps,
                self.seed,
                self.batch_size,
                timestep_groups=self.timestep_groups,
                context_channels=self.context_channels,
            )
        return self._computers[key]

    def _projector(self, num_params: int, seed: int) -> Projector:
        key = (num_params, seed)
        if key not in self._projectors:
            if self.projection == "gaussian":
                # Keep the caller's chunking: it bounds the memory of one drawn block.
                self._projectors[key] = PROJECTIONS["gaussian"](
                    num_params, self.dim, seed, chunk_rows=self.chunk_rows
                )
            else:
                self._projectors[key] = make_projector(self.projection, num_params, self.dim, seed)
        return self._projectors[key]

    def _features(
        self, checkpoint: int, images: torch.Tensor, labels: torch.Tensor, stream: str
    ) -> list[torch.Tensor]:
        """Projected features (N, dim) of `images` at one checkpoint, one per projection seed,
        a batch at a time (each batch's gradients are computed once for every projection)."""
        output = self.output if stream == "train" else self.query_output
        computer = self._computer(checkpoint, output)
        projectors = [self._projector(computer.num_params, s) for s in self.projection_seeds]
        parts: list[list[torch.Tensor]] = [[] for _ in projectors]
        for start in range(0, images.shape[0], self.batch_size):
            stop = min(start + self.batch_size, images.shape[0])
            # 1. Per-example gradients of this batch (noise seeded by the global index).
            grads = computer.compute(
                images[start:stop], labels[start:stop], range(start, stop), stream
            )
            # 2. Project them with each seed and keep only the projections.
            for part, projector in zip(parts, projectors, strict=True):
                part.append(projector.project(grads))
        return [torch.cat(part, dim=0) for part in parts]

    def _matches(self, index: AttributionIndex) -> bool:
        return (
            index.item_ids == self.item_ids
            and index.checkpoint_hashes == tuple(h for h, _ in self.checkpoints)
            and index.output == self.output
            and index.timesteps == self.timesteps
            and index.dim == self.dim
            and index.seed == self.seed
            and index.extra == self._extra()
        )

    def _extra(self) -> dict[str, Any]:
        """Settings beyond the index's own fields, kept in its manifest and content hash."""
        extra: dict[str, Any] = {"query_output": self.query_output, "projection": self.projection}
        if self.timestep_groups != 1:  # absent when 1: earlier indexes keep their hashes
            extra["timestep_groups"] = self.timestep_groups
        if self.projection_seeds != (self.seed,):  # likewise absent for one seed-seeded one
            extra["projection_seeds"] = list(self.projection_seeds)
        if self.context_channels:  # a continuation model's index; absent for a stage model's
            extra["context_channels"] = self.context_channels
        return extra

    def build_index(self) -> AttributionIndex:
        """Compute training features at every checkpoint, fit the scorer and save the index."""
        from generation.model import checkpoint_hash  # deferred: only needed to verify

        features: list[torch.Tensor] = []
        for position, (expected, state) in enumerate(self.checkpoints):
            # 1. Refuse a checkpoint whose weights do not match the hash it is recorded under.
            if self.verify_hashes and checkpoint_hash(state) != expected:
                raise ValueError(f"checkpoint {expected[:12]}… does not match its weights")
            # 2. Features of every training item at this checkpoint, one per projection.
            features += self._features(position, self.images, self.class_ids, "train")
        index = AttributionIndex(
            item_ids=self.item_ids,
            checkpoint_hashes=tuple(h for h, _ in self.checkpoints),
            features=tuple(features),
            output=self.output,
            timesteps=self.timesteps,
            dim=self.dim,
            seed=self.seed,
            regularisation=float(self.regularisation),
            extra=self._extra(),
        )
        # 3. Fit the kernel once, and persist the index if a store is attached.
        self.scorer.fit(list(index.features))
        if self.store is not None:
            self.store.save(index)
        self.index = index
        return index

    def load_index(self) -> AttributionIndex:
        """Load the stored index instead of rebuilding it; ValueError if it is for other
        items, checkpoints or settings."""
        if self.store is None:
            raise ValueError("no store attached")
        index = self.store.load()
        if not self._matches(index):
            raise ValueError("the stored index was built for other items, checkpoints or settings")
        self.scorer.fit(list(index.features))
        self.index = index
        return index

    @property
    def index_hash(self) -> str:
        """Content hash of the current index (the same as the store's)."""
        if self.index is None:
            raise ValueError("no index: call build_index() or load_index() first")
        return content_hash(self.index)

    def score(
        self, query_images: torch.Tensor, query_class_ids: Sequence[int] | torch.Tensor
    ) -> np.ndarray:
        """(m, n) float64 scores of the m queries against the n training items."""
        if self.index is None:
            raise ValueError("no index: call build_index() or load_index() first")
        # 1. Query features at every checkpoint (a separate noise stream from training items).
        features = self.query_features(query_images, query_class_ids)
        # 2. Kernel-weighted similarity, averaged over checkpoints (and projections).
        scores: np.ndarray = self.scorer.score(features).numpy()
        return scores

    def query_features(
        self, query_images: torch.Tensor, query_class_ids: Sequence[int] | torch.Tensor
    ) -> list[torch.Tensor]:
        """The queries' projected features in the index's order: per checkpoint, one (m, dim)
        matrix per projection seed."""
        if not isinstance(query_images, torch.Tensor) or query_images.ndim != 4:
            raise ValueError("query_images must be an (M, C, H, W) tensor")
        if query_images.shape[1:] != self.images.shape[1:]:
            raise ValueError(
                f"query images are {tuple(query_images.shape[1:])}, "
                f"training images {tuple(self.images.shape[1:])}"
            )
        labels = torch.as_tensor(query_class_ids, dtype=torch.long)
        if labels.shape != (query_images.shape[0],):
            raise ValueError(f"query_class_ids must hold {query_images.shape[0]} values")
        queries = query_images.detach().to(torch.float32)
        features: list[torch.Tensor] = []
        for position in range(len(self.checkpoints)):
            features += self._features(position, queries, labels, "query")
        return features

    def top_k(self, scores: np.ndarray, k: int) -> list[list[tuple[str, float]]]:
        """For each query (row of `scores`), the k items with the highest scores, best first;
        ties by item id, the rule the ledger records attributions with (`ledger.shares`)."""
        if not isinstance(scores, np.ndarray) or scores.ndim != 2:
            raise ValueError("scores must be an (m, n) numpy array")
        if scores.shape[1] != len(self.item_ids):
            raise ValueError(f"scores have {scores.shape[1]} columns, not {len(self.item_ids)}")
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        if not np.isfinite(scores).all():
            raise ValueError("scores must be finite to be ranked")
        return [
            highest(zip(self.item_ids, (float(score) for score in row), strict=True), k)
            for row in scores
        ]
