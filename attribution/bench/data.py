"""Data sets of the attribution benchmark, built by our own code (nothing is downloaded).

- "digits-2": the two classes 0 and 1 of scikit-learn's bundled digits, donated through
  `digits_collection` (8×8 scans resized to 16×16 grey); the class id is the digit, the
  two-class set-up of CIFAR-2 in the TRAK / D-TRAK papers.
- "demo": every stage image of the demo founding collection (`founding_collection`), drawn at
  32×32 and resized to 16×16 colour by `images_to_tensor`; the class id is
  `label_to_class(stage role, donation emotion)`, exactly what `generation.service` trains on.

A seeded share of the items is held back as real targets and never trained on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from collection import digits_collection, founding_collection
from generation.model import images_to_tensor, label_to_class
from generation.presets import ModelConfig

__all__ = ["DATASETS", "BenchData", "load_dataset", "split_held_back"]

DATASETS: tuple[str, ...] = ("digits-2", "demo")


@dataclass(frozen=True)
class BenchData:
    """Items of one data set: ids, (N, C, R, R) images in [-1, 1], class ids, and each item's
    artist and stage role (what credit is rolled up by: the stability block needs them)."""

    name: str
    item_ids: tuple[str, ...]
    images: torch.Tensor
    class_ids: torch.Tensor
    channels: int
    artists: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        n = len(self.item_ids)
        if self.images.ndim != 4 or self.images.shape[0] != n:
            raise ValueError(f"{self.name}: images must be ({n}, C, R, R)")
        if self.class_ids.shape != (n,):
            raise ValueError(f"{self.name}: class_ids must hold {n} values")
        if len(set(self.item_ids)) != n:
            raise ValueError(f"{self.name}: item ids must be unique")
        for what, values in (("artists", self.artists), ("roles", self.roles)):
            if values and len(values) != n:
                raise ValueError(f"{self.name}: {what} must hold {n} values (or none)")

    def items_by_id(self) -> dict[str, dict[str, str]]:
        """Each item's artist and role, keyed by item id, as `ledger.domain.attribution`'s
        roll-ups read them (an item's id stands in for an artist or role not recorded)."""
        return {
            item_id: {
                "artist_id": self.artists[i] if self.artists else item_id,
                "role": self.roles[i] if self.roles else item_id,
            }
            for i, item_id in enumerate(self.item_ids)
        }

    def subset(self, indices: np.ndarray | list[int], name: str | None = None) -> BenchData:
        """The items at `indices`, in that order."""
        index = torch.as_tensor(np.asarray(indices, dtype=np.int64))
        return BenchData(
            name=name or self.name,
            item_ids=tuple(self.item_ids[int(i)] for i in index),
            images=self.images[index].contiguous(),
            class_ids=self.class_ids[index].contiguous(),
            channels=self.channels,
            artists=tuple(self.artists[int(i)] for i in index) if self.artists else (),
            roles=tuple(self.roles[int(i)] for i in index) if self.roles else (),
        )


def _digits(resolution: int, seed: int) -> BenchData:
    config = ModelConfig(resolution=resolution, channels=1)
    ids: list[str] = []
    pngs: list[bytes] = []
    labels: list[int] = []
    artists: list[str] = []
    roles: list[str] = []
    for artist in digits_collection(classes=(0, 1), size=resolution, seed=seed):
        for number, donation in enumerate(artist.donations):
            if donation.digit is None:  # digits_collection always sets it
                raise ValueError("a digits donation without its digit")
            ids.append(f"{artist.artist.pseudonym}/{number}")
            pngs.append(donation.stages[0].image)
            labels.append(donation.digit)
            artists.append(artist.artist.pseudonym)
            roles.append(donation.stages[0].role)
    images = images_to_tensor(pngs, config)
    return BenchData(
        "digits-2",
        tuple(ids),
        images,
        torch.tensor(labels),
        channels=1,
        artists=tuple(artists),
        roles=tuple(roles),
    )


def _demo(resolution: int, seed: int, artists: int) -> BenchData:
    config = ModelConfig(resolution=resolution, channels=3)
    ids: list[str] = []
    pngs: list[bytes] = []
    labels: list[int] = []
    owners: list[str] = []
    roles: list[str] = []
    for a, artist in enumerate(founding_collection(n_artists=artists, size=32, seed=seed)):
        for d, donation in enumerate(artist.donations):
            for s, stage in enumerate(donation.stages):
                # 1. One item per stage, labelled as generation.service labels it.
                ids.append(f"artist-{a}/donation-{d}/stage-{s}")
                pngs.append(stage.image)
                labels.append(label_to_class(stage.role, donation.label.emotion))
                owners.append(f"artist-{a}")
                roles.append(stage.role)
    images = images_to_tensor(pngs, config)
    return BenchData(
        "demo",
        tuple(ids),
        images,
        torch.tensor(labels),
        channels=3,
        artists=tuple(owners),
        roles=tuple(roles),
    )


def load_dataset(
    name: str, *, resolution: int = 16, seed: int = 0, demo_artists: int = 36
) -> BenchData:
    """The named data set, deterministic for a seed (the collection's own seed)."""
    if name == "digits-2":
        return _digits(resolution, seed)
    if name == "demo":
        return _demo(resolution, seed, demo_artists)
    raise ValueError(f"unknown data set {name!r}; expected one of: {', '.join(DATASETS)}")


def split_held_back(
    n: int, *, fraction: float, minimum: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(training indices, held-back indices), both sorted: max(minimum, fraction·n) held back."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must lie strictly between 0 and 1, got {fraction!r}")
    held = max(int(minimum), round(fraction * n))
    if not 0 < held < n - 1:
        raise ValueError(f"cannot hold back {held} of {n} items and still train")
    order = np.random.default_rng([seed, 101]).permutation(n)
    return np.sort(order[held:]), np.sort(order[:held])
