"""TRAK scoring: features of training items and queries → one score per (query, item).

Per checkpoint c with train features Φ_c (n × k), the kernel is K_c = (Φ_cᵀ Φ_c + λI)⁻¹, a
Gauss-Newton stand-in for the inverse Hessian (λ absolute, or relative to the spectrum of
Φ_cᵀ Φ_c with `RelativeRidgeScorer`). Score of item i for query q: φ_q K_c Φ_cᵀ[:, i],
averaged over checkpoints (TRAK's ensemble).

Sign convention: a score is the predicted DECREASE of the query's output (its loss, for the
"loss" output function) due to the item being in the training set; positive means the item
helped (lowered the query's loss), negative that it hurt. This follows from the influence
function: removing item i raises the query loss by about g_q H⁻¹ g_i.

The kernel is applied through a float64 `solve` (never an explicit inverse): we store
A_c = K_c Φ_cᵀ (k × n), computed once in `fit`, so scoring is one matmul per checkpoint.
Above `PRIMAL_MAX_DIM` dimensions with fewer items than dimensions, the k × k solve (k³ flops,
8·k² bytes: 34 GB at k = 65,536) is replaced by the same matrix through the n × n one:
(ΦᵀΦ + λI)⁻¹ Φᵀ = Φᵀ (ΦΦᵀ + λI)⁻¹ (push-through identity, λ > 0), so a large projection costs
what its items cost. At or below it the k × k solve is kept, so recorded attributions recompute
to the same floats. The dual form's A_c is solved in float64 and kept in float32 (`DUAL_DTYPE`):
a query reads the whole k × n matrix once per checkpoint (2.6 GB in float64 at k = 32,768 and
10,000 items), so its memory traffic is the query's kernel cost, and float32 halves it; the
scores then carry float32's ~1e-7 relative error, far below any difference the ranking of
credited items rests on, and are as repeatable as before (the same index gives the same floats).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

__all__ = [
    "DUAL_DTYPE",
    "PRIMAL_MAX_DIM",
    "CosineTrakScorer",
    "RelativeRidgeScorer",
    "TrakScorer",
    "unit_rows",
    "unit_train_scorer",
]


# Largest k solved in the primal (k × k) form; above it, with n < k, the dual (n × n) form.
PRIMAL_MAX_DIM = 4096
# The dtype the dual form's k × n weights are kept in (solved in float64).
DUAL_DTYPE = torch.float32


def _as_matrix(name: str, value: object) -> torch.Tensor:
    if not isinstance(value, torch.Tensor) or value.ndim != 2:
        raise ValueError(f"{name} must be a 2-D tensor")
    if not bool(torch.isfinite(value).all()):
        raise ValueError(f"{name} holds NaN or infinite values")
    return value.detach().to("cpu", torch.float64)


def unit_rows(matrix: torch.Tensor) -> torch.Tensor:
    """Each row scaled to unit length (all-zero rows left as they are)."""
    norms = matrix.norm(dim=1, keepdim=True)
    return matrix / torch.where(norms > 0, norms, torch.ones_like(norms))


class TrakScorer:
    """Fits the TRAK kernel on training features and scores query features against them."""

    # Above this k (with fewer items than k) `fit` solves the n × n dual form.
    primal_max_dim = PRIMAL_MAX_DIM

    def __init__(self, regularisation: float = 0.0) -> None:
        if (
            isinstance(regularisation, bool)
            or not isinstance(regularisation, int | float)
            or not math.isfinite(regularisation)
            or regularisation < 0
        ):
            raise ValueError(f"regularisation must be a finite number ≥ 0, got {regularisation!r}")
        self.regularisation = float(regularisation)
        self._weights: list[torch.Tensor] = []

    @property
    def fitted(self) -> bool:
        """Whether `fit` has run."""
        return bool(self._weights)

    def fit(self, train_features: Sequence[torch.Tensor]) -> TrakScorer:
        """One (n × k) feature matrix per checkpoint; all with the same n and k."""
        if isinstance(train_features, torch.Tensor) or not train_features:
            raise ValueError("train_features must be a non-empty sequence, one per checkpoint")
        weights: list[torch.Tensor] = []
        for c, features in enumerate(train_features):
            # 1. Validate and promote to float64 (the Gram matrix loses precision in float32).
            phi = _as_matrix(f"train_features[{c}]", features)
            if weights and phi.shape != (weights[0].shape[1], weights[0].shape[0]):
                raise ValueError("every checkpoint's train features must have the same shape")
            # 2. A_c = (ΦᵀΦ + λI)⁻¹ Φᵀ by a linear solve (k × k, or n × n for a large k).
            ridge = self.ridge(phi)
            n, k = phi.shape
            try:
                if self.dual(n, k, ridge):
                    gram = phi @ phi.T + ridge * torch.eye(n, dtype=phi.dtype)
                    weights.append(torch.linalg.solve(gram, phi).T.to(DUAL_DTYPE))
                else:
                    gram = phi.T @ phi + ridge * torch.eye(k, dtype=phi.dtype)
                    weights.append(torch.linalg.solve(gram, phi.T))
            except RuntimeError as exc:  # torch's singular-matrix error
                raise ValueError(
                    f"ΦᵀΦ + λI is singular for checkpoint {c}; raise the regularisation"
                ) from exc
        self._weights = weights
        return self

    def weight_dtype(self, n: int, k: int, ridge: float) -> torch.dtype:
        """The dtype `fit` keeps the k × n weights of n items of k dimensions in."""
        return DUAL_DTYPE if self.dual(n, k, ridge) else torch.float64

    def use_weights(self, weights: Sequence[torch.Tensor]) -> TrakScorer:
        """Score with given k × n weights, one per checkpoint, instead of fitting them: for the
        bench's latency at a scale whose fit would take longer than the query it times (a
        query's cost depends on the weights' shape and dtype, not on their values)."""
        if isinstance(weights, torch.Tensor) or not weights:
            raise ValueError("weights must be a non-empty sequence, one per checkpoint")
        shapes = {tuple(w.shape) for w in weights}
        if len(shapes) != 1 or any(w.ndim != 2 for w in weights):
            raise ValueError("every checkpoint's weights must be one k × n matrix shape")
        self._weights = list(weights)
        return self

    def dual(self, n: int, k: int, ridge: float) -> bool:
        """Whether `fit` solves n items of k dimensions in the n × n dual form."""
        return k > self.primal_max_dim and n < k and ridge > 0

    def ridge(self, train_features: torch.Tensor) -> float:
        """λ added to ΦᵀΦ: the regularisation as given, whatever the features' scale."""
        del train_features
        return self.regularisation

    def score(self, query_features: Sequence[torch.Tensor]) -> torch.Tensor:
        """(m × k) query features per checkpoint → (m × n) float64 scores, averaged."""
        if not self._weights:
            raise ValueError("the scorer is not fitted: call fit() first")
        if isinstance(query_features, torch.Tensor) or len(query_features) != len(self._weights):
            raise ValueError(f"query_features must hold {len(self._weights)} matrices")
        total: torch.Tensor | None = None
        for c, (features, weight) in enumerate(zip(query_features, self._weights, strict=True)):
            # 1. Score this checkpoint: φ K Φᵀ.
            phi = _as_matrix(f"query_features[{c}]", features)
            if phi.shape[1] != weight.shape[0]:
                raise ValueError(
                    f"query features have {phi.shape[1]} columns, not {weight.shape[0]}"
                )
            scores = (phi.to(weight.dtype) @ weight).to(torch.float64)
            # 2. Accumulate for the ensemble average.
            total = scores if total is None else total + scores
        if total is None:  # unreachable: fit() stores at least one checkpoint
            raise ValueError("no checkpoints")
        return total / len(self._weights)


class RelativeRidgeScorer(TrakScorer):
    """TRAK kernel whose λ is `regularisation` times the mean non-zero eigenvalue of ΦᵀΦ.

    Why: an absolute λ means a different amount of smoothing for every output function,
    model and checkpoint (gradient scales differ by orders of magnitude), and with fewer items
    than dimensions a tiny λ turns the kernel into an ill-conditioned least-squares fit of the
    query on the training rows. A relative λ (trace(ΦᵀΦ) / min(n, k), the mean of the at most
    min(n, k) non-zero eigenvalues) smooths by the same share everywhere.
    """

    def ridge(self, train_features: torch.Tensor) -> float:
        n, k = train_features.shape
        trace = float((train_features * train_features).sum())
        return self.regularisation * trace / max(1, min(n, k))


class CosineTrakScorer(TrakScorer):
    """TRAK kernel on unit-length feature rows (train items and, optionally, queries).

    Why: per-example gradient norms of a diffusion model vary by orders of magnitude between
    items (and timesteps), so raw TRAK scores are dominated by a few high-norm items whatever
    the query. Normalising the train rows removes that norm bias (as in Diffusion-ReTrac, Xie
    et al. 2024); normalising the query too only rescales each query's row of scores.
    `normalise_queries=False` keeps the query's norm (scores then compare across queries).
    """

    def __init__(self, regularisation: float = 0.0, normalise_queries: bool = True) -> None:
        super().__init__(regularisation)
        self.normalise_queries = bool(normalise_queries)

    @staticmethod
    def _unit(features: torch.Tensor) -> torch.Tensor:
        return unit_rows(_as_matrix("features", features))

    def fit(self, train_features: Sequence[torch.Tensor]) -> CosineTrakScorer:
        """Like `TrakScorer.fit`, on unit-length training rows."""
        if isinstance(train_features, torch.Tensor) or not train_features:
            raise ValueError("train_features must be a non-empty sequence, one per checkpoint")
        super().fit([self._unit(f) for f in train_features])
        return self

    def score(self, query_features: Sequence[torch.Tensor]) -> torch.Tensor:
        """Like `TrakScorer.score`, with unit-length query rows when `normalise_queries`."""
        if isinstance(query_features, torch.Tensor):
            raise ValueError("query_features must be a sequence of matrices, one per checkpoint")
        if self.normalise_queries:
            return super().score([self._unit(f) for f in query_features])
        return super().score(query_features)


def unit_train_scorer(regularisation: float) -> CosineTrakScorer:
    """Unit-length training rows, raw query rows."""
    return CosineTrakScorer(regularisation, normalise_queries=False)
