"""`museum bench diversity`: is the process model more diverse than a finals-only one, at equal
quality?

1. Each data set (`data`) is split by donation into a training part, held-back real stages and
   the embedding's own data; the feature network (`embedding`) is trained on the last.
2. For every training seed, every arm (`arms`: A "process", B "finals", any plugged-in third)
   is trained with the same model, steps, batch and seed.
3. Each arm is asked for N images of every condition both can answer — role `final` × each
   emotion the training finals carry — from the same starting noise for every arm (seeded by
   training seed and condition); an arm that answers other roles is also asked for those.
4. The held-back denoising loss of every arm with a UNet, on fixed (timestep, noise) draws.
5. `report` turns the samples into Vendi (pixels, embedding), precision / recall, spreads,
   paired differences with bootstrap intervals and a verdict per data set; the contact sheet of
   the prompt condition is written under `out`.

Nothing here prints or asserts: the figures are returned.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from generation.benchkit import torch_facts, torch_threads
from generation.diversity_bench.arms import FINALS, PROCESS, ArmSpec, Budget
from generation.diversity_bench.data import DATASETS, FINAL, DataPlan, Split, load_split
from generation.diversity_bench.embedding import Embedding, train_embedding
from generation.diversity_bench.figures import VERDICT_RULE, DiversityBenchRead
from generation.diversity_bench.report import Measured, Samples, dataset_read
from generation.erasure_bench.scoring import Probe, spread_timesteps
from generation.model import EMOTIONS, ROLES, grid_png, label_to_class
from generation.presets import preset
from generation.seeds import check_seed, derived_seed
from ledger.benchkit import host_facts, load_average

__all__ = ["PLANS", "BenchPlan", "run_diversity_bench"]

PRESET = "tiny"
K = 3


@dataclasses.dataclass(frozen=True)
class BenchPlan:
    """The sizes of one run."""

    data: DataPlan
    seeds: int
    samples: int  # per condition, per arm and seed
    train_steps: int
    embedding_steps: int
    sample_steps: int
    eval_timesteps: int
    bootstrap: int
    measured: bool  # False: a size for tests, whose figures stand for nothing


PLANS: dict[str, BenchPlan] = {
    # Sized on the shared 2-core CPU (README, "museum bench diversity").
    "full": BenchPlan(
        data=DataPlan(
            demo_artists=96, demo_embedding_artists=64, demo_held_back=0.25, digit_scans=1797
        ),
        seeds=3,
        samples=24,
        train_steps=800,
        embedding_steps=600,
        sample_steps=15,
        eval_timesteps=8,
        bootstrap=2000,
        measured=True,
    ),
    "quick": BenchPlan(
        data=DataPlan(
            demo_artists=48, demo_embedding_artists=32, demo_held_back=0.3, digit_scans=600
        ),
        seeds=2,
        samples=16,
        train_steps=200,
        embedding_steps=200,
        sample_steps=10,
        eval_timesteps=4,
        bootstrap=500,
        measured=True,
    ),
    "tiny": BenchPlan(
        data=DataPlan(
            demo_artists=12, demo_embedding_artists=8, demo_held_back=0.4, digit_scans=60
        ),
        seeds=2,
        samples=4,
        train_steps=3,
        embedding_steps=3,
        sample_steps=2,
        eval_timesteps=2,
        bootstrap=50,
        measured=False,
    ),
}


def _sample(
    generate: Callable[[int, int, int], torch.Tensor], class_id: int, count: int, seed: int
) -> torch.Tensor:
    """The same noise for every arm: the seed depends on the training seed and condition only."""
    return generate(class_id, count, derived_seed(seed, "diversity-sample", class_id))


def _other_roles(split: Split) -> dict[str, list[int]]:
    """For every role but final, the class ids of that role the training part carries."""
    out: dict[str, list[int]] = {}
    carried = {int(c) for c in split.training.class_ids.tolist()}
    for role in ROLES:
        if role == FINAL:
            continue
        ids = [label_to_class(role, e) for e in EMOTIONS if label_to_class(role, e) in carried]
        if ids:
            out[role] = ids
    return out


def _measure_dataset(
    name: str,
    plan: BenchPlan,
    arms: Sequence[ArmSpec],
    seeds: list[int],
    seed: int,
    out: Path | None,
    say: Callable[[str], None],
) -> Measured:
    # 1. The split and the embedding.
    split = load_split(name, plan.data, seed)
    if not split.conditions:
        raise ValueError(f"{name}: the training part holds no final stage")
    say(f"{name}: training the embedding on {len(split.embedding)} stages")
    embedding = train_embedding(
        split.embedding,
        channels=split.config.channels,
        groups=len(split.groups),
        steps=plan.embedding_steps,
        seed=seed,
    )
    model_config, train_config = preset(PRESET)
    model_config = split.config
    timesteps = spread_timesteps(model_config, plan.eval_timesteps)
    finals = split.held_back.of_role(FINAL)
    final_probe = Probe.make(finals.images, finals.class_ids.tolist(), timesteps, seed + 3)
    stage_probe = Probe.make(
        split.held_back.images, split.held_back.class_ids.tolist(), timesteps, seed + 4
    )
    other_roles = _other_roles(split)
    per_role = {role: max(2, plan.samples // len(ids)) for role, ids in other_roles.items()}
    samples: list[Samples] = []
    sheet: dict[str, torch.Tensor] = {}
    prompt = max(split.conditions, key=lambda c: (int((split.training.class_ids == c).sum()), -c))
    for s in seeds:
        budget = Budget(
            model=model_config,
            train=dataclasses.replace(train_config, steps=plan.train_steps, seed=s),
            sample_steps=plan.sample_steps,
        )
        for spec in arms:
            # 2. Train the arm on this seed.
            say(f"{name}: seed {s}, training arm {spec.name} ({plan.train_steps} steps)")
            arm = spec.build(split.training, budget)
            # 3. Its samples of every comparable condition, then of the other roles.
            by_condition: dict[int, torch.Tensor] = {}
            for class_id in split.conditions:
                by_condition[class_id] = _sample(arm.generate, class_id, plan.samples, s)
            if s == seeds[0]:
                sheet[spec.name] = by_condition[prompt]
            by_role: dict[str, torch.Tensor] = {}
            if spec.answers_other_roles:
                for role, ids in other_roles.items():
                    by_role[role] = torch.cat(
                        [_sample(arm.generate, c, per_role[role], s) for c in ids]
                    )
            # 4. Held-back denoising losses.
            unet = arm.denoiser
            samples.append(
                Samples(
                    arm=spec.name,
                    seed=s,
                    trained_items=getattr(arm, "trained_items", 0),
                    final_loss=float(getattr(arm, "final_loss", float("nan"))),
                    conditions={c: _features(t, embedding) for c, t in by_condition.items()},
                    roles={r: _features(t, embedding) for r, t in by_role.items()},
                    final_losses=None if unet is None else final_probe.losses(unet, model_config),
                    stage_losses=None if unet is None else stage_probe.losses(unet, model_config),
                )
            )
            del arm, unet
    # 5. The contact sheet: one row per arm, the seed-0 samples of the prompt condition.
    sheet_path: Path | None = None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        sheet_path = out / f"contact-{name}.png"
        sheet_path.write_bytes(
            grid_png(torch.cat([sheet[spec.name] for spec in arms]), columns=plan.samples)
        )
    return Measured(
        split=split,
        embedding=embedding,
        real_finals=embedding.features(finals.images),
        real_roles={
            role: embedding.features(split.held_back.of_role(role).images) for role in other_roles
        },
        samples=samples,
        prompt=prompt,
        contact_sheet=None if sheet_path is None else str(sheet_path),
    )


def _features(images: torch.Tensor, embedding: Embedding) -> tuple[np.ndarray, np.ndarray]:
    """(pixel vectors, embedding features) of a batch of samples."""
    return embedding.pixels(images), embedding.features(images)


def _machine(load_at_start: list[float] | None) -> dict[str, object]:
    facts = {
        **host_facts("cpu_count", "usable_cpus", "cpu"),
        **torch_facts("torch", "torch_threads", "diffusers"),
        **host_facts("platform", "python"),
        "load_average_at_start": load_at_start,
        "load_average_at_end": load_average(),
    }
    return {key: str(value) if isinstance(value, str) else value for key, value in facts.items()}


def run_diversity_bench(
    *,
    plan: str = "full",
    datasets: Sequence[str] = DATASETS,
    seeds: int | None = None,
    samples: int | None = None,
    steps: int | None = None,
    seed: int = 0,
    out: Path | None = None,
    threads: int | None = None,
    arms: Sequence[ArmSpec] = (PROCESS, FINALS),
    progress: Callable[[str], None] | None = None,
) -> DiversityBenchRead:
    """Train every arm on every data set for `seeds` training seeds and measure its samples.

    `plan` is "full", "quick" or "tiny" (tests; its figures are marked not measured); `seeds`,
    `samples` (N per condition) and `steps` override the plan's. `arms` must hold "finals" (the
    baseline every other arm is compared with). `out`: where the contact sheets go (none
    written without it). `threads` sets torch's CPU threads for the run (restored after).
    """
    if plan not in PLANS:
        raise ValueError(f"unknown plan {plan!r}; expected one of: {', '.join(PLANS)}")
    chosen = PLANS[plan]
    chosen = dataclasses.replace(
        chosen,
        seeds=chosen.seeds if seeds is None else seeds,
        samples=chosen.samples if samples is None else samples,
        train_steps=chosen.train_steps if steps is None else steps,
    )
    if not 2 <= chosen.seeds <= 32:
        raise ValueError(f"seeds must be between 2 and 32 (paired intervals), got {chosen.seeds}")
    if not K + 1 <= chosen.samples <= 512:
        raise ValueError(f"samples must be between {K + 1} and 512, got {chosen.samples}")
    if not 1 <= chosen.train_steps <= 1_000_000:
        raise ValueError(f"steps must be between 1 and 1,000,000, got {chosen.train_steps}")
    names = list(dict.fromkeys(datasets))
    unknown = [n for n in names if n not in DATASETS]
    if not names or unknown:
        raise ValueError(f"data sets must be among: {', '.join(DATASETS)}; got {list(datasets)}")
    if [a.name for a in arms].count(FINALS.name) != 1 or len({a.name for a in arms}) != len(arms):
        raise ValueError("the arms must have distinct names, one of them 'finals'")
    check_seed(seed)
    say = progress or (lambda _line: None)
    began, load_at_start = time.perf_counter(), load_average()
    training_seeds = [seed + k for k in range(chosen.seeds)]
    with torch_threads(threads):
        measured = [
            _measure_dataset(n, chosen, arms, training_seeds, seed, out, say) for n in names
        ]
        reads = [dataset_read(m, arms, chosen.bootstrap, K, seed) for m in measured]
    _, train_config = preset(PRESET)
    return DiversityBenchRead(
        bench="diversity",
        quick=plan == "quick",
        measured=chosen.measured,
        preset=PRESET,
        seeds=training_seeds,
        samples=chosen.samples,
        train_steps=chosen.train_steps,
        batch_size=train_config.batch_size,
        sample_steps=chosen.sample_steps,
        k=K,
        bootstrap=chosen.bootstrap,
        comparable=(
            "both arms are asked for role final × each emotion the training finals carry: the "
            "finals-only model has never seen another role's label, so only these conditions "
            "compare; the process model's other roles are reported apart"
        ),
        verdict_rule=VERDICT_RULE,
        datasets=reads,
        machine=_machine(load_at_start),
        seconds_total=time.perf_counter() - began,
    )
