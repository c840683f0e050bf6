"""Retraining for the attribution benchmark: one recipe, many training sets, cached on disk.

Every model of the benchmark (the full model, the LDS subset models, the counterfactual
models) is trained by `generation.training.train` with the SAME `Recipe`; only the training
items and the seed differ. Jobs run in a pool of spawned worker processes, each with one torch
thread, so the two CPU cores train two models at once and a model's weights do not depend on
which worker trained it. Each finished model is saved as `<key>.safetensors` in the cache
folder, next to `<key>.json` holding its measured target losses: a rerun loads instead of
retraining, and only recomputes the losses if the targets changed.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from attribution._seeding import derived_seed
from generation.model import build_unet, training_scheduler
from generation.presets import ModelConfig, TrainConfig
from generation.training import TrainingItem, denoising_loss, train
from ledger.blobs import write_whole

__all__ = [
    "EvalSet",
    "JobResult",
    "Recipe",
    "TrainJob",
    "load_checkpoints",
    "run_jobs",
    "target_losses",
]

# Bump when the meaning of a cached file changes: old caches are then ignored, not misread.
CACHE_VERSION = 1

StateDict = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Recipe:
    """Model, optimiser schedule and base seed shared by every model of one benchmark."""

    model_config: ModelConfig
    train_config: TrainConfig

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model_config.to_dict(),
            "train": self.train_config.to_dict(),
            "cache_version": CACHE_VERSION,
        }

    def digest(self) -> str:
        """A short hash naming the recipe (the cache folder carries it)."""
        text = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def subset_seed(self, subset: int, replicate: int = 0) -> int:
        """Training seed of LDS subset `subset` (replicate 0), or of its `replicate`-th
        retraining with another seed: derived from the base seed and the indices."""
        if replicate == 0:
            return derived_seed(self.train_config.seed, "lds-subset", subset) % (2**31)
        stream = f"lds-subset-replicate-{replicate}"
        return derived_seed(self.train_config.seed, stream, subset) % (2**31)


@dataclass(frozen=True)
class EvalSet:
    """Targets and their fixed evaluation noise: the ground truth every model is scored on.

    `noise` is (n, T, C, R, R): target j at timestep `timesteps[t]` always sees noise[j, t].
    """

    images: torch.Tensor
    class_ids: torch.Tensor
    timesteps: tuple[int, ...]
    noise: torch.Tensor

    def digest(self) -> str:
        """Hash of the targets, labels, timesteps and noise: cached losses are tied to it."""
        h = hashlib.sha256()
        for tensor in (self.images, self.class_ids, self.noise):
            h.update(tensor.detach().contiguous().numpy().tobytes())
        h.update(json.dumps(list(self.timesteps)).encode())
        return h.hexdigest()[:16]

    @staticmethod
    def build(
        images: torch.Tensor, class_ids: torch.Tensor, timesteps: Sequence[int], seed: int
    ) -> EvalSet:
        """Fixed noise per target from generators seeded by (seed, target index)."""
        steps = tuple(int(t) for t in timesteps)
        noises = []
        for j in range(images.shape[0]):
            # 1. One generator per target, so a target's noise does not depend on the others.
            generator = torch.Generator("cpu").manual_seed(derived_seed(seed, "lds-eval", j))
            noises.append(torch.randn((len(steps), *images.shape[1:]), generator=generator))
        noise = torch.stack(noises) if noises else torch.empty((0, len(steps), *images.shape[1:]))
        return EvalSet(images.float().contiguous(), class_ids.long(), steps, noise)


@dataclass(frozen=True)
class TrainJob:
    """Train on the training-set items at `indices` with `seed`; cache under `key`."""

    key: str
    indices: tuple[int, ...]
    seed: int
    keep_checkpoints: bool = False


@dataclass(frozen=True)
class JobResult:
    """Outcome of one job: whether it trained (False: loaded from cache) and its target
    losses (None when no eval set was given)."""

    key: str
    trained: bool
    losses: np.ndarray | None
    seconds: float


def target_losses(
    model: torch.nn.Module, config: ModelConfig, evals: EvalSet, batch: int = 2048
) -> np.ndarray:
    """Each target's denoising loss averaged over the eval timesteps with its fixed noise."""
    scheduler = training_scheduler(config)
    n, steps = evals.images.shape[0], len(evals.timesteps)
    images = evals.images.unsqueeze(1).expand(n, steps, *evals.images.shape[1:])
    images = images.reshape(n * steps, *evals.images.shape[1:])
    labels = evals.class_ids.repeat_interleave(steps)
    times = torch.tensor(evals.timesteps, dtype=torch.long).repeat(n)
    noise = evals.noise.reshape(n * steps, *evals.images.shape[1:])
    values: list[torch.Tensor] = []
    model.eval()
    with torch.no_grad():
        for start in range(0, n * steps, batch):
            # 1. The loss of each (target, timestep) pair, a batch at a time.
            stop = min(start + batch, n * steps)
            values.append(
                denoising_loss(
                    model,  # type: ignore[arg-type]
                    scheduler,
                    images[start:stop],
                    labels[start:stop],
                    times[start:stop],
                    noise[start:stop],
                )
            )
    if not values:
        return np.zeros(0)
    # 2. Average over the timesteps of each target.
    return torch.cat(values).reshape(n, steps).mean(dim=1).double().numpy()


# --- the cache ------------------------------------------------------------------------------


def _weights_path(folder: Path, key: str) -> Path:
    return folder / f"{key}.safetensors"


def _losses_path(folder: Path, key: str) -> Path:
    return folder / f"{key}.json"


def _tensor_key(step: int, name: str) -> str:
    """The key of one checkpoint's tensor in a cached model file: `step-<n>/<name>`."""
    return f"step-{step}/{name}"


def _tensor_of(key: str) -> tuple[int, str]:
    """(step, name) of a tensor key: the inverse of `_tensor_key`."""
    head, name = key.split("/", 1)
    return int(head.removeprefix("step-")), name


def _save_weights(path: Path, checkpoints: Sequence[tuple[int, StateDict]]) -> None:
    """All kept checkpoints in one file, keys `step-<n>/<name>`; written atomically."""
    tensors = {
        _tensor_key(step, name): tensor.contiguous()
        for step, state in checkpoints
        for name, tensor in state.items()
    }
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    save_file(tensors, str(tmp), metadata={"steps": ",".join(str(s) for s, _ in checkpoints)})
    tmp.replace(path)


def load_checkpoints(path: Path) -> list[tuple[int, StateDict]]:
    """(step, state_dict) pairs of a cached model, in step order."""
    tensors = load_file(str(path))
    states: dict[int, StateDict] = {}
    for key, tensor in tensors.items():
        step, name = _tensor_of(key)
        states.setdefault(step, {})[name] = tensor
    if not states:
        raise ValueError(f"{path} holds no checkpoint")
    return sorted(states.items())


def cached_losses(folder: Path, key: str, digest: str) -> np.ndarray | None:
    """The cached losses of `key` for the eval set `digest`, when both files are there."""
    path = _losses_path(folder, key)
    if not path.exists() or not _weights_path(folder, key).exists():
        return None
    data = json.loads(path.read_text())
    if data.get("eval") != digest:
        return None
    return np.asarray(data["losses"], dtype=np.float64)


# --- workers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Payload:
    """What every worker needs, sent once per worker."""

    images: torch.Tensor
    class_ids: torch.Tensor
    recipe: Recipe
    folder: str
    evals: EvalSet | None


_STATE: dict[str, _Payload] = {}


def _init_worker(payload: _Payload, threads: int) -> None:
    torch.set_num_threads(threads)
    _STATE["payload"] = payload


def _model_from(config: ModelConfig, state: StateDict) -> torch.nn.Module:
    model = build_unet(config)
    model.load_state_dict(state)
    return model.eval()


def _run_job(job: TrainJob) -> JobResult:
    """Train (or load) one model and measure its target losses; runs inside a worker."""
    payload = _STATE["payload"]
    folder = Path(payload.folder)
    path = _weights_path(folder, job.key)
    started = time.perf_counter()
    trained = False
    if path.exists():
        # 1. A cached model: load its last checkpoint.
        state = load_checkpoints(path)[-1][1]
    else:
        # 2. Train with the shared recipe on the job's items and seed.
        config = payload.recipe.train_config
        items = [
            TrainingItem(str(i), payload.images[i], int(payload.class_ids[i])) for i in job.indices
        ]
        run_config = TrainConfig(
            **{**config.to_dict(), "seed": job.seed, "log_every": 0, "sample_every": 0}
        )
        if not job.keep_checkpoints:
            run_config = TrainConfig(**{**run_config.to_dict(), "checkpoint_every": 0})
        result = train(items, payload.recipe.model_config, run_config, device="cpu")
        kept = [(c.step, c.state_dict) for c in result.checkpoints]
        _save_weights(path, kept if job.keep_checkpoints else kept[-1:])
        state = kept[-1][1]
        trained = True
    losses: np.ndarray | None = None
    if payload.evals is not None:
        # 3. Ground truth: each target's loss, cached beside the weights.
        model = _model_from(payload.recipe.model_config, state)
        losses = target_losses(model, payload.recipe.model_config, payload.evals)
        record = {"eval": payload.evals.digest(), "losses": losses.tolist(), "seed": job.seed}
        path = _losses_path(folder, job.key)
        write_whole(path, json.dumps(record).encode(), prefix=f".{path.name}.")
    return JobResult(job.key, trained, losses, time.perf_counter() - started)


def run_jobs(
    jobs: Sequence[TrainJob],
    *,
    images: torch.Tensor,
    class_ids: torch.Tensor,
    recipe: Recipe,
    folder: Path,
    evals: EvalSet | None,
    workers: int,
    on_done: Callable[[JobResult, int, int], None] | None = None,
) -> dict[str, JobResult]:
    """Run every job not already answered by the cache, `workers` at a time.

    A job whose weights and losses (for this eval set) are cached is answered without starting
    a worker; with `workers` = 0 the jobs run in this process (for tests and debugging).
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise ValueError(f"workers must be a non-negative integer, got {workers!r}")
    if len({job.key for job in jobs}) != len(jobs):
        raise ValueError("job keys must be unique")
    folder.mkdir(parents=True, exist_ok=True)
    results: dict[str, JobResult] = {}
    pending: list[TrainJob] = []
    digest = evals.digest() if evals is not None else None
    for job in jobs:
        # 1. Answer from the cache where both the model and its losses are there.
        cached = cached_losses(folder, job.key, digest) if digest is not None else None
        if cached is not None or (evals is None and _weights_path(folder, job.key).exists()):
            results[job.key] = JobResult(job.key, False, cached, 0.0)
        else:
            pending.append(job)
    payload = _Payload(images.contiguous(), class_ids.contiguous(), recipe, str(folder), evals)
    done = 0
    if workers == 0 or len(pending) <= 1:
        # 2a. In this process (tests, or a single job): same code path as a worker.
        previous = _STATE.get("payload")
        threads = torch.get_num_threads()
        _STATE["payload"] = payload
        torch.set_num_threads(1)  # as in a worker: the weights must not depend on where
        try:
            for job in pending:
                results[job.key] = _run_job(job)
                done += 1
                if on_done is not None:
                    on_done(results[job.key], done, len(pending))
        finally:
            torch.set_num_threads(threads)
            if previous is not None:
                _STATE["payload"] = previous
        return results
    # 2b. A pool of spawned workers, one torch thread each (fork would copy torch's threads).
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=min(workers, len(pending)),
        mp_context=context,
        initializer=_init_worker,
        initargs=(payload, 1),
    ) as pool:
        futures = [pool.submit(_run_job, job) for job in pending]
        for future in as_completed(futures):
            result = future.result()
            results[result.key] = result
            done += 1
            if on_done is not None:
                on_done(result, done, len(pending))
    return results
