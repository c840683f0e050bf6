"""Seeded random projections of gradients, generated in row-chunks on the fly.

TRAK compresses p-dimensional gradients to k dimensions with a Johnson-Lindenstrauss
projection. A dense p×k float32 matrix is 4·p·k bytes (30M × 4096 would be 492 GB), so the
matrix R is never held whole: rows [c·chunk_rows, (c+1)·chunk_rows) are drawn, when needed, from
a generator seeded by (seed, c) and used at once. Any two calls (and any rebuild) see the same R.

Cost of one `project` call on a (b, p) batch: memory about chunk_rows·dim·4 bytes for the live
chunk (8192 × 4096 → 128 MiB) plus the (b, dim) result; time is dominated by drawing p·dim
normal numbers (regenerated on every call, so project large batches at once) plus 2·b·p·dim
flops. Measured on one CPU thread: about 1.3·10⁸ draws/s (tiny UNet, p = 163k, dim = 4096:
5.2 s per call). At p = 30M, dim = 4096 that is 1.2·10¹¹ draws, about 15 minutes per call on
one thread, whatever b is (a GPU `device` would be far faster, untested here), so batch as
many gradients per call as memory allows.

`SparseSignProjector` is the structured alternative the museum uses by default: a sparse
Johnson-Lindenstrauss transform (each parameter adds ±1/sqrt(s) to s random output
coordinates, Kane & Nelson 2014). It costs O(b·p·s) instead of O(p·dim) draws plus
O(b·p·dim) flops, so a query's features project in milliseconds rather than seconds, with
the same expected norm preservation.
"""

from __future__ import annotations

import itertools
import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator

import torch

from attribution._seeding import check_seed, derived_generator

__all__ = [
    "PROJECTIONS",
    "ChunkedGaussianProjector",
    "Projector",
    "SparseSignProjector",
    "make_projector",
]


def _positive(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


class Projector(ABC):
    """G (b, p) → G @ R (b, dim) for a seeded R cut into row-chunks that are never all held.

    Subclasses say how a chunk of R is drawn (`matrix_chunk`, dense, for tests) and how
    gradient columns [lo, hi) are added into the result (`_accumulate`).
    """

    kind = "abstract"

    def __init__(
        self,
        num_params: int,
        dim: int,
        seed: int,
        chunk_rows: int = 8192,
        device: str | torch.device = "cpu",
    ) -> None:
        self.num_params = _positive("num_params", num_params)
        self.dim = _positive("dim", dim)
        self.seed = check_seed(seed)
        self.chunk_rows = _positive("chunk_rows", chunk_rows)
        self.device = torch.device(device)

    @property
    def num_chunks(self) -> int:
        """How many row-chunks R is cut into."""
        return math.ceil(self.num_params / self.chunk_rows)

    def chunk_bounds(self, chunk: int) -> tuple[int, int]:
        """Rows [start, stop) of R that chunk `chunk` covers."""
        if not 0 <= chunk < self.num_chunks:
            raise ValueError(f"chunk must be in 0..{self.num_chunks - 1}, got {chunk}")
        start = chunk * self.chunk_rows
        return start, min(start + self.chunk_rows, self.num_params)

    @abstractmethod
    def matrix_chunk(self, chunk: int) -> torch.Tensor:
        """Rows of R for chunk `chunk` as a dense (rows, dim) float32 matrix."""

    @abstractmethod
    def _accumulate(self, result: torch.Tensor, g: torch.Tensor, lo: int, hi: int) -> None:
        """result += g @ R[lo:hi], where g holds the gradient columns lo..hi."""

    def _spans(self, start: int, stop: int) -> Iterator[tuple[int, int, int]]:
        """(chunk, lo, hi) for each row-chunk overlapping R[start:stop]."""
        first, last = start // self.chunk_rows, (stop - 1) // self.chunk_rows
        for chunk in range(first, last + 1):
            c_start, c_stop = self.chunk_bounds(chunk)
            yield chunk, max(start, c_start), min(stop, c_stop)

    def project(self, gradients: torch.Tensor) -> torch.Tensor:
        """Project a (b, p) gradient matrix to (b, dim) float32 on the CPU."""
        if not isinstance(gradients, torch.Tensor) or gradients.ndim != 2:
            raise ValueError("gradients must be a (batch, num_params) tensor")
        if gradients.shape[1] != self.num_params:
            raise ValueError(
                f"gradients have {gradients.shape[1]} columns, expected {self.num_params}"
            )
        return self.project_chunks([(0, gradients)], batch=gradients.shape[0])

    def project_chunks(
        self, pieces: Iterable[tuple[int, torch.Tensor]], batch: int
    ) -> torch.Tensor:
        """Project gradients given as parameter-chunks: (offset, (batch, width)) pieces.

        The pieces must tile 0..num_params exactly once, in any order and of any widths, so a
        caller can stream one layer's gradients at a time and never hold the full (b, p) matrix.
        """
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 0:
            raise ValueError(f"batch must be a non-negative integer, got {batch!r}")
        result = torch.zeros((batch, self.dim), dtype=torch.float32, device=self.device)
        covered = 0
        spans: list[tuple[int, int]] = []
        for offset, piece in pieces:
            # 1. Check the piece: a (batch, width) tensor inside 0..num_params.
            if not isinstance(piece, torch.Tensor) or piece.ndim != 2 or piece.shape[0] != batch:
                raise ValueError(f"each piece must be a ({batch}, width) tensor")
            stop = offset + piece.shape[1]
            if isinstance(offset, bool) or offset < 0 or stop > self.num_params:
                raise ValueError(f"piece at {offset} of width {piece.shape[1]} is out of range")
            spans.append((offset, stop))
            covered += piece.shape[1]
            g = piece.to(self.device, torch.float32)
            # 2. Accumulate g[:, rows] @ R[rows] for each row-chunk the piece overlaps.
            for _, lo, hi in self._spans(offset, stop):
                self._accumulate(result, g[:, lo - offset : hi - offset], lo, hi)
        # 3. The pieces must cover every parameter exactly once.
        spans.sort()
        overlapping = any(a[1] > b[0] for a, b in itertools.pairwise(spans))
        if covered != self.num_params or overlapping:
            raise ValueError("gradient pieces must cover 0..num_params exactly once")
        return result.cpu()

    def dense(self) -> torch.Tensor:
        """The whole R (p, dim): a reference for tests and small models only."""
        if self.num_params * self.dim > 50_000_000:
            raise ValueError("dense() is for small projections only (p·dim ≤ 5·10⁷)")
        return torch.cat([self.matrix_chunk(c) for c in range(self.num_chunks)], dim=0)


class ChunkedGaussianProjector(Projector):
    """R[i, j] ~ N(0, 1) / sqrt(dim), drawn chunk by chunk from generator (seed, chunk).

    The 1/sqrt(dim) scale makes E‖gR‖² = ‖g‖² (norms preserved in expectation).
    """

    kind = "gaussian"

    @property
    def scale(self) -> float:
        return 1.0 / math.sqrt(self.dim)

    def matrix_chunk(self, chunk: int) -> torch.Tensor:
        start, stop = self.chunk_bounds(chunk)
        generator = derived_generator(self.seed, "projection", chunk)
        block = torch.randn((stop - start, self.dim), generator=generator)
        return (block * self.scale).to(self.device)

    def _rows(self, start: int, stop: int) -> Iterator[tuple[int, int, torch.Tensor]]:
        """Pieces (row start, row stop, R rows) covering R[start:stop], one chunk at a time."""
        for chunk, lo, hi in self._spans(start, stop):
            c_start, _ = self.chunk_bounds(chunk)
            yield lo, hi, self.matrix_chunk(chunk)[lo - c_start : hi - c_start]

    def _accumulate(self, result: torch.Tensor, g: torch.Tensor, lo: int, hi: int) -> None:
        for r_lo, r_hi, rows in self._rows(lo, hi):
            result += g[:, r_lo - lo : r_hi - lo] @ rows


class SparseSignProjector(Projector):
    """Sparse JL: row i of R has `nonzeros` entries ±1/sqrt(nonzeros) at seeded random columns.

    Only the (rows, nonzeros) column indices and signs of a chunk are drawn (from generator
    (seed, "sparse-projection", chunk)), and chunks are kept once drawn while they fit in
    `cache_entries`, so projecting many batches draws R once.
    """

    kind = "sparse"

    def __init__(
        self,
        num_params: int,
        dim: int,
        seed: int,
        chunk_rows: int = 1 << 16,
        device: str | torch.device = "cpu",
        nonzeros: int = 4,
        cache_entries: int = 1 << 25,
    ) -> None:
        super().__init__(num_params, dim, seed, chunk_rows, device)
        self.nonzeros = _positive("nonzeros", nonzeros)
        if self.nonzeros > dim:
            raise ValueError(f"nonzeros ({nonzeros}) must not exceed dim ({dim})")
        self.scale = 1.0 / math.sqrt(self.nonzeros)
        self.cache_entries = cache_entries
        self._cache: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def _columns(self, chunk: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(rows, nonzeros) column indices (int64) and signed values (float32) of a chunk."""
        cached = self._cache.get(chunk)
        if cached is not None:
            return cached
        start, stop = self.chunk_bounds(chunk)
        generator = derived_generator(self.seed, "sparse-projection", chunk)
        shape = (stop - start, self.nonzeros)
        columns = torch.randint(0, self.dim, shape, generator=generator)
        signs = torch.randint(0, 2, shape, generator=generator).to(torch.float32) * 2 - 1
        drawn = (columns.to(self.device), (signs * self.scale).to(self.device))
        if (len(self._cache) + 1) * self.chunk_rows * self.nonzeros <= self.cache_entries:
            self._cache[chunk] = drawn
        return drawn

    def matrix_chunk(self, chunk: int) -> torch.Tensor:
        columns, values = self._columns(chunk)
        block = torch.zeros((columns.shape[0], self.dim), device=self.device)
        # Two draws may land on one column: they add, exactly as in _accumulate.
        block.scatter_add_(1, columns, values)
        return block

    def _accumulate(self, result: torch.Tensor, g: torch.Tensor, lo: int, hi: int) -> None:
        for chunk, c_lo, c_hi in self._spans(lo, hi):
            c_start, _ = self.chunk_bounds(chunk)
            columns, values = self._columns(chunk)
            columns = columns[c_lo - c_start : c_hi - c_start]
            values = values[c_lo - c_start : c_hi - c_start]
            part = g[:, c_lo - lo : c_hi - lo]
            # 1. Each gradient entry, times each of its signed values, lands on its column.
            contributions = (part.unsqueeze(-1) * values).reshape(part.shape[0], -1)
            result.index_add_(1, columns.reshape(-1), contributions)


PROJECTIONS: dict[str, type[Projector]] = {
    "gaussian": ChunkedGaussianProjector,
    "sparse": SparseSignProjector,
}


def make_projector(kind: str, num_params: int, dim: int, seed: int) -> Projector:
    """The projector named `kind` ("sparse" or "gaussian") with its default chunking."""
    if not isinstance(kind, str) or kind not in PROJECTIONS:
        raise ValueError(f"unknown projection {kind!r}; expected one of: {', '.join(PROJECTIONS)}")
    return PROJECTIONS[kind](num_params, dim, seed)
