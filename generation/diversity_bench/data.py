"""The diversity bench's data: two process collections, each split three ways by donation.

- "demo": the demo founding collection (`founding_collection`, drawn at 32×32, resized to the
  model's 16×16 colour by `images_to_tensor`); only donations whose `train` consent the
  generator grants are used. A seeded share of them is held back.
- "digits": scikit-learn's digits as processes (`digits_process_collection`: sketch, failures,
  the real scan as final), 16×16 grey; the scans are shuffled by the seed and dealt into
  training, held-back and embedding parts, so no scan is in two of them.

`training` is what both models learn from (A: every stage; B: the final stages), `held_back`
the real stages the samples are compared with (precision / recall, denoising loss), and
`embedding` what the bench's own feature network learns from — for the demo a second founding
collection drawn with another generator seed, for the digits the scans neither model sees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from collection import FAMILIES, digits_process_collection, founding_collection
from collection.drafts import ArtistDraft
from generation.model import EMOTIONS, ROLES, images_to_tensor, label_to_class
from generation.presets import ModelConfig
from ledger.vocabulary import Purpose, StageRole

__all__ = ["DATASETS", "DataPlan", "Split", "Stages", "load_split"]

DATASETS: tuple[str, ...] = ("demo", "digits")
FINAL = StageRole.FINAL.value


@dataclass(frozen=True)
class DataPlan:
    """How much of each collection one run uses."""

    demo_artists: int  # founding artists of the models' collection (2 donations each)
    demo_embedding_artists: int  # of the embedding's own collection (another generator seed)
    demo_held_back: float  # share of the consented donations held back
    digit_scans: int  # scans dealt (of 1,797): training 45 %, held back 20 %, embedding 35 %


@dataclass(frozen=True)
class Stages:
    """Stage images of one part, in [-1, 1], with what each one is: its role, its class id
    (`label_to_class(role, emotion)`), its donation (a number within the part) and its group
    (what the embedding learns besides the role: the style family, or the digit), and the failure
    type its donation's label gives (what the continuation arm is conditioned on)."""

    images: torch.Tensor
    roles: tuple[str, ...]
    class_ids: torch.Tensor
    donations: np.ndarray
    groups: np.ndarray
    failure_types: tuple[str, ...]  # the failure type of each stage's donation label

    def __len__(self) -> int:
        return len(self.roles)

    def where(self, mask: np.ndarray) -> Stages:
        index = np.flatnonzero(mask)
        at = torch.as_tensor(index, dtype=torch.long)
        return Stages(
            images=self.images[at].contiguous(),
            roles=tuple(self.roles[i] for i in index),
            class_ids=self.class_ids[at].contiguous(),
            donations=self.donations[index],
            groups=self.groups[index],
            failure_types=tuple(self.failure_types[i] for i in index),
        )

    def of_role(self, role: str) -> Stages:
        return self.where(np.array([r == role for r in self.roles], dtype=bool))

    def role_index(self) -> np.ndarray:
        return np.array([ROLES.index(r) for r in self.roles], dtype=np.int64)


@dataclass(frozen=True)
class Split:
    """One data set's three parts and the model shape that fits its images."""

    name: str
    description: str
    config: ModelConfig
    training: Stages
    held_back: Stages
    embedding: Stages
    groups: tuple[str, ...]  # names of the group ids
    conditions: tuple[int, ...]  # the final × emotion class ids the training finals carry


def _stages(artists: Sequence[ArtistDraft], groups: Sequence[int], config: ModelConfig) -> Stages:
    pngs: list[bytes] = []
    roles: list[str] = []
    labels: list[int] = []
    donations: list[int] = []
    group_ids: list[int] = []
    failure_types: list[str] = []
    number = 0
    for artist, group in zip(artists, groups, strict=True):
        for donation in artist.donations:
            for stage in donation.stages:
                pngs.append(stage.image)
                roles.append(stage.role)
                labels.append(label_to_class(stage.role, donation.label.emotion))
                donations.append(number)
                group_ids.append(group)
                failure_types.append(donation.label.failure_type)
            number += 1
    return Stages(
        images=images_to_tensor(pngs, config),
        roles=tuple(roles),
        class_ids=torch.tensor(labels, dtype=torch.long),
        donations=np.array(donations, dtype=np.int64),
        groups=np.array(group_ids, dtype=np.int64),
        failure_types=tuple(failure_types),
    )


def _consented(artists: Sequence[ArtistDraft]) -> list[ArtistDraft]:
    """The artists with only their donations that carry `train` consent."""
    kept = []
    for artist in artists:
        donations = tuple(d for d in artist.donations if Purpose.TRAIN.value in d.consents)
        if donations:
            kept.append(ArtistDraft(artist=artist.artist, style=artist.style, donations=donations))
    return kept


def _family(artist_index: int) -> int:
    return artist_index % len(FAMILIES)  # founding_collection: artist i draws in FAMILIES[i % 8]


def _conditions(training: Stages) -> tuple[int, ...]:
    finals = training.of_role(FINAL)
    return tuple(sorted({int(c) for c in finals.class_ids.tolist()}))


def _demo(plan: DataPlan, seed: int) -> Split:
    config = ModelConfig(channels=3)
    drawn = founding_collection(n_artists=plan.demo_artists, size=32, seed=seed)
    kept = [(c, _family(i)) for i, a in enumerate(drawn) for c in _consented([a])]
    everything = _stages([a for a, _ in kept], [f for _, f in kept], config)
    donations = int(everything.donations.max()) + 1
    order = np.random.default_rng([seed, 61]).permutation(donations)
    held = set(order[: max(2, round(plan.demo_held_back * donations))].tolist())
    is_held = np.array([d in held for d in everything.donations], dtype=bool)
    other = founding_collection(n_artists=plan.demo_embedding_artists, size=32, seed=seed + 1000)
    embedding = _stages(other, [_family(i) for i in range(len(other))], config)
    training = everything.where(~is_held)
    return Split(
        name="demo",
        description=(
            f"demo founding collection (seed {seed}): {plan.demo_artists} artists × 2 process "
            f"donations, `train`-consented ones only, {len(held)} of {donations} donations held "
            f"back; 16×16 colour; embedding on {plan.demo_embedding_artists} other artists "
            f"(generator seed {seed + 1000})"
        ),
        config=config,
        training=training,
        held_back=everything.where(is_held),
        embedding=embedding,
        groups=FAMILIES,
        conditions=_conditions(training),
    )


def _digits(plan: DataPlan, seed: int) -> Split:
    config = ModelConfig(channels=1)
    if not 20 <= plan.digit_scans <= 1797:
        raise ValueError(f"digit scans must be between 20 and 1,797, got {plan.digit_scans}")
    order = np.random.default_rng([seed, 62]).permutation(1797)[: plan.digit_scans]
    cut1, cut2 = round(0.45 * plan.digit_scans), round(0.65 * plan.digit_scans)
    parts = (order[:cut1], order[cut1:cut2], order[cut2:])

    def part(scans: np.ndarray, generator_seed: int) -> Stages:
        artists = digits_process_collection(scans=scans.tolist(), seed=generator_seed)
        digits = [int(a.style.removeprefix("digit-")) for a in artists]
        return _stages(artists, digits, config)

    training = part(parts[0], seed)
    return Split(
        name="digits",
        description=(
            f"scikit-learn digits as processes (sketch, attempt, failure, the scan as final), "
            f"16×16 grey: {len(parts[0])} scans' donations trained on, {len(parts[1])} held back, "
            f"{len(parts[2])} for the embedding (defects drawn with seed {seed + 1000})"
        ),
        config=config,
        training=training,
        held_back=part(parts[1], seed),
        embedding=part(parts[2], seed + 1000),
        groups=tuple(str(d) for d in range(10)),
        conditions=_conditions(training),
    )


def load_split(name: str, plan: DataPlan, seed: int) -> Split:
    """The named data set split for one run; deterministic for a seed."""
    if name == "demo":
        return _demo(plan, seed)
    if name == "digits":
        return _digits(plan, seed)
    raise ValueError(f"unknown data set {name!r}; expected one of: {', '.join(DATASETS)}")


def emotion_of(class_id: int) -> str:
    return EMOTIONS[class_id % len(EMOTIONS)]
