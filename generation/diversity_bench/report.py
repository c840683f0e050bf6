"""From the diversity bench's samples to its figures: Vendi, precision / recall, spreads, losses,
paired differences against the finals-only arm, and the verdict by `figures.VERDICT_RULE`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from generation.diversity_bench.arms import FINALS, ArmSpec
from generation.diversity_bench.data import FINAL, Split, emotion_of
from generation.diversity_bench.embedding import Embedding
from generation.diversity_bench.figures import (
    LOSS_RATIO_LIMIT,
    PRECISION_MARGIN,
    ArmRead,
    ComparisonRead,
    ConditionRead,
    DatasetRead,
    EmbeddingRead,
    IntervalRead,
    PromptArmRead,
    PromptRead,
    RoleRead,
)
from generation.diversity_bench.metrics import (
    Interval,
    bootstrap_mean,
    difference,
    manifold_hits,
    mean_pairwise_distance,
    paired_difference,
    vendi_score,
)
from generation.model import ROLES

Features = tuple[np.ndarray, np.ndarray]  # (pixels, embedding), one row per sample


@dataclass(frozen=True)
class Samples:
    """One arm under one training seed: features of its samples and its held-back losses."""

    arm: str
    seed: int
    trained_items: int
    final_loss: float
    conditions: dict[int, Features]
    roles: dict[str, Features]
    final_losses: np.ndarray | None
    stage_losses: np.ndarray | None


@dataclass(frozen=True)
class Measured:
    split: Split
    embedding: Embedding
    real_finals: np.ndarray
    real_roles: dict[str, np.ndarray]
    samples: list[Samples]
    prompt: int
    contact_sheet: str | None


def _read(interval: Interval) -> IntervalRead:
    return IntervalRead(value=interval.value, low=interval.low, high=interval.high)


def _label(class_id: int) -> str:
    return f"final × {emotion_of(class_id)}"


class _Report:
    def __init__(self, m: Measured, resamples: int, k: int, seed: int) -> None:
        self.m, self.resamples, self.k, self.seed = m, resamples, k, seed
        self.seeds = sorted({s.seed for s in m.samples})

    def of(self, arm: str) -> list[Samples]:
        return sorted((s for s in self.m.samples if s.arm == arm), key=lambda s: s.seed)

    def mean(self, values: Sequence[float] | np.ndarray) -> IntervalRead:
        return _read(bootstrap_mean(np.asarray(values), resamples=self.resamples, seed=self.seed))

    def vendi(self, runs: list[Samples], space: int) -> np.ndarray:
        """Per-condition Vendi, (seeds × conditions) in seed then condition order."""
        conditions = self.m.split.conditions
        return np.array([[vendi_score(r.conditions[c][space]) for c in conditions] for r in runs])

    def pooled(self, runs: list[Samples], space: int) -> np.ndarray:
        return np.array(
            [vendi_score(np.concatenate([f[space] for f in r.conditions.values()])) for r in runs]
        )

    def hits(self, runs: list[Samples]) -> tuple[np.ndarray, np.ndarray]:
        """Precision and recall indicators of every seed's pooled samples, concatenated."""
        precision, recall = [], []
        for r in runs:
            fake = np.concatenate([f[1] for f in r.conditions.values()])
            p, q = manifold_hits(self.m.real_finals, fake, self.k)
            precision.append(p)
            recall.append(q)
        return np.concatenate(precision), np.concatenate(recall)

    def losses(self, runs: list[Samples], which: str) -> np.ndarray | None:
        """Each held-back item's loss, averaged over seeds; None for an arm without a UNet."""
        values = [getattr(r, which) for r in runs]
        if any(v is None for v in values):
            return None
        averaged: np.ndarray = np.mean(np.stack(values), axis=0)
        return averaged

    def roles(self, runs: list[Samples]) -> list[RoleRead]:
        out = []
        for role in ROLES:
            if role == FINAL or role not in runs[0].roles:
                continue
            real = self.m.real_roles.get(role, np.empty((0, 1)))
            vendi_pixels = [vendi_score(r.roles[role][0]) for r in runs]
            vendi_embedding = [vendi_score(r.roles[role][1]) for r in runs]
            precision = recall = None
            fake = np.concatenate([r.roles[role][1] for r in runs])
            if real.shape[0] > self.k and runs[0].roles[role][1].shape[0] > self.k:
                pairs = [manifold_hits(real, r.roles[role][1], self.k) for r in runs]
                precision = self.mean(np.concatenate([p for p, _ in pairs]))
                recall = self.mean(np.concatenate([q for _, q in pairs]))
            out.append(
                RoleRead(
                    role=role,
                    samples=int(fake.shape[0] // len(runs)),
                    held_back_real=int(real.shape[0]),
                    vendi_pixels=self.mean(vendi_pixels),
                    vendi_embedding=self.mean(vendi_embedding),
                    precision=precision,
                    recall=recall,
                )
            )
        return out

    def arm(self, spec: ArmSpec) -> ArmRead:
        runs = self.of(spec.name)
        pixels, embedding = self.vendi(runs, 0), self.vendi(runs, 1)
        precision, recall = self.hits(runs)
        final_losses = self.losses(runs, "final_losses")
        stage_losses = self.losses(runs, "stage_losses")
        training = self.m.split.training.class_ids
        return ArmRead(
            arm=spec.name,
            learns_from=spec.learns_from,
            trained_items=runs[0].trained_items,
            final_training_loss=float(np.mean([r.final_loss for r in runs])),
            vendi_pixels=self.mean(pixels.ravel()),
            vendi_embedding=self.mean(embedding.ravel()),
            vendi_pooled_pixels=self.mean(self.pooled(runs, 0)),
            vendi_pooled_embedding=self.mean(self.pooled(runs, 1)),
            precision=self.mean(precision),
            recall=self.mean(recall),
            held_back_loss=None if final_losses is None else self.mean(final_losses),
            held_back_loss_all_stages=None if stage_losses is None else self.mean(stage_losses),
            conditions=[
                ConditionRead(
                    condition=_label(c),
                    class_id=c,
                    training_finals=int((training == c).sum()),
                    vendi_pixels=self.mean(pixels[:, j]),
                    vendi_embedding=self.mean(embedding[:, j]),
                )
                for j, c in enumerate(self.m.split.conditions)
            ],
            other_roles=self.roles(runs) if spec.answers_other_roles else [],
        )

    def compare(self, spec: ArmSpec) -> ComparisonRead:
        a, b = self.of(spec.name), self.of(FINALS.name)
        pair = {"resamples": self.resamples, "seed": self.seed}
        vendi_pixels = paired_difference(self.vendi(a, 0), self.vendi(b, 0), **pair)
        vendi_embedding = paired_difference(self.vendi(a, 1), self.vendi(b, 1), **pair)
        (pa, ra), (pb, rb) = self.hits(a), self.hits(b)
        precision = difference(pa, pb, **pair)
        recall = difference(ra, rb, **pair)
        la, lb = self.losses(a, "final_losses"), self.losses(b, "final_losses")
        loss_diff = None if la is None or lb is None else paired_difference(la, lb, **pair)
        ratio = None if la is None or lb is None else float(la.mean() / lb.mean())
        verdict, because = _verdict(vendi_embedding, precision, ratio)
        return ComparisonRead(
            arm=spec.name,
            against=FINALS.name,
            vendi_pixels_diff=_read(vendi_pixels),
            vendi_embedding_diff=_read(vendi_embedding),
            precision_diff=_read(precision),
            recall_diff=_read(recall),
            held_back_loss_diff=None if loss_diff is None else _read(loss_diff),
            held_back_loss_ratio=ratio,
            more_diverse_at_equal_quality=verdict,
            because=because,
        )

    def prompt(self, arms: Sequence[ArmSpec]) -> PromptRead:
        c = self.m.prompt
        spreads = {
            spec.name: np.array(
                [mean_pairwise_distance(r.conditions[c][1]) for r in self.of(spec.name)]
            )
            for spec in arms
        }
        vendis = {
            spec.name: [vendi_score(r.conditions[c][1]) for r in self.of(spec.name)]
            for spec in arms
        }
        first = next(a.name for a in arms if a.name != FINALS.name)
        diff = paired_difference(
            spreads[first], spreads[FINALS.name], resamples=self.resamples, seed=self.seed
        )
        return PromptRead(
            condition=_label(c),
            class_id=c,
            samples=int(self.of(FINALS.name)[0].conditions[c][1].shape[0]),
            arms=[
                PromptArmRead(
                    arm=spec.name,
                    mean_pairwise_distance=self.mean(spreads[spec.name]),
                    vendi_embedding=self.mean(vendis[spec.name]),
                )
                for spec in arms
            ],
            distance_diff=_read(diff),
            contact_sheet=self.m.contact_sheet,
        )


def _verdict(vendi: Interval, precision: Interval, ratio: float | None) -> tuple[str, str]:
    quality = precision.low >= -PRECISION_MARGIN and (ratio is None or ratio <= LOSS_RATIO_LIMIT)
    if vendi.high < 0:
        return "no", "less diverse: the Vendi difference's interval lies below 0"
    if precision.high < -PRECISION_MARGIN:
        return "no", "its samples lie measurably further from the real finals (precision)"
    if vendi.low > 0 and quality:
        return "yes", "more diverse, precision and held-back loss within the margins"
    if vendi.low > 0:
        return "not shown", "more diverse, but quality is not shown equal"
    return "not shown", "the Vendi difference's interval holds 0"


def dataset_read(
    m: Measured, arms: Sequence[ArmSpec], resamples: int, k: int, seed: int
) -> DatasetRead:
    report = _Report(m, resamples, k, seed)
    split, emb = m.split, m.embedding
    return DatasetRead(
        dataset=split.name,
        description=split.description,
        training_stages=len(split.training),
        training_finals=len(split.training.of_role(FINAL)),
        held_back_stages=len(split.held_back),
        held_back_finals=len(split.held_back.of_role(FINAL)),
        conditions=[_label(c) for c in split.conditions],
        embedding=EmbeddingRead(
            trained_on=emb.trained_on,
            held_out=emb.held_out,
            steps=emb.steps,
            role_accuracy=emb.role_accuracy,
            group_accuracy=emb.group_accuracy,
            group="style family" if split.name == "demo" else "digit",
            chance_role=float(
                np.bincount(split.embedding.role_index()).max() / len(split.embedding)
            ),
            chance_group=float(np.bincount(split.embedding.groups).max() / len(split.embedding)),
        ),
        arms=[report.arm(spec) for spec in arms],
        comparisons=[report.compare(spec) for spec in arms if spec.name != FINALS.name],
        prompt=report.prompt(arms),
    )
