"""The bench's own feature space: a small CNN trained here, on data neither model trains on.

No downloaded weights: two convolutions and a 64-wide feature layer, trained from a seeded
initialisation to tell each stage's role (sketch, attempt, failure, revision, final) and its
group (the demo's style family — what is drawn — or the digit) from the image alone. Its
features (the 64 units before the two heads, centred on its own data's mean and
L2-normalised) are what Vendi, pairwise distances
and the k-NN manifolds of precision / recall are computed in. A seeded fifth of its data is
held out, and its accuracy there on both heads is reported beside every figure it serves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from generation.diversity_bench.data import Stages
from generation.model import ROLES

__all__ = ["Embedding", "train_embedding"]

WIDTH = 64


class _Net(nn.Module):
    def __init__(self, channels: int, groups: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.LazyLinear(WIDTH),
            nn.ReLU(),
        )
        self.role = nn.Linear(WIDTH, len(ROLES))
        self.group = nn.Linear(WIDTH, groups)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        features = self.body(x)
        return features, self.role(features), self.group(features)


@dataclass(frozen=True)
class Embedding:
    """The trained network and its held-out accuracy on both heads."""

    net: _Net
    centre: torch.Tensor  # mean feature of the embedding's own training data
    pixel_centre: torch.Tensor  # and its mean image, flattened, in 0..1
    role_accuracy: float
    group_accuracy: float
    trained_on: int
    held_out: int
    steps: int

    @torch.no_grad()
    def raw(self, images: torch.Tensor) -> torch.Tensor:
        self.net.eval()
        parts = [self.net(images[i : i + 512])[0] for i in range(0, images.shape[0], 512)]
        return torch.cat(parts)

    def features(self, images: torch.Tensor) -> np.ndarray:
        """(N, 64) features of (N, C, R, R) images in [-1, 1], centred on the embedding data's
        mean and L2-normalised (ReLU features are all positive: uncentred, every cosine
        similarity is near 1 and every set looks alike)."""
        return F.normalize(self.raw(images) - self.centre, dim=1).double().numpy()

    def pixels(self, images: torch.Tensor) -> np.ndarray:
        """(N, C·R·R) pixel vectors in 0..1, centred on the embedding data's mean image (the
        blank sheet all stages share would otherwise dominate every cosine similarity)."""
        flat = (images.reshape(images.shape[0], -1).double() + 1.0) / 2.0
        return (flat - self.pixel_centre.double()).numpy()


def _accuracy(net: _Net, data: Stages) -> tuple[float, float]:
    with torch.no_grad():
        net.eval()
        _, role, group = net(data.images)
    roles = torch.as_tensor(data.role_index())
    groups = torch.as_tensor(data.groups)
    return (
        float((role.argmax(1) == roles).double().mean()),
        float((group.argmax(1) == groups).double().mean()),
    )


def train_embedding(
    data: Stages, *, channels: int, groups: int, steps: int, seed: int
) -> Embedding:
    """Train the feature network on `data` (four fifths; the rest is held out for accuracy)."""
    if len(data) < 10:
        raise ValueError("the embedding needs at least 10 stages to train and hold out")
    order = np.random.default_rng([seed, 71]).permutation(len(data))
    cut = len(data) // 5
    held_mask = np.zeros(len(data), dtype=bool)
    held_mask[order[:cut]] = True
    train, held = data.where(~held_mask), data.where(held_mask)
    generator = torch.Generator("cpu").manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = _Net(channels, groups)
        net(train.images[:1])  # materialise the lazy layer under the seed
    optimiser = torch.optim.Adam(net.parameters(), lr=2e-3)
    roles = torch.as_tensor(train.role_index())
    group_ids = torch.as_tensor(train.groups)
    n = len(train)
    for _ in range(steps):
        # 1. A batch, lightly jittered (a one-pixel shift) so features do not key on exact pixels.
        batch = torch.randint(0, n, (min(64, n),), generator=generator)
        shift = [int(v) for v in torch.randint(-1, 2, (2,), generator=generator)]
        images = torch.roll(train.images[batch], shifts=shift, dims=(2, 3))
        net.train()
        _, role, group = net(images)
        # 2. Both heads at once.
        loss = F.cross_entropy(role, roles[batch]) + F.cross_entropy(group, group_ids[batch])
        optimiser.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        optimiser.step()
    role_accuracy, group_accuracy = _accuracy(net, held)
    with torch.no_grad():
        net.eval()
        centre = net(train.images)[0].mean(dim=0)
    return Embedding(
        net=net,
        centre=centre,
        pixel_centre=((train.images.reshape(n, -1) + 1.0) / 2.0).mean(dim=0),
        role_accuracy=role_accuracy,
        group_accuracy=group_accuracy,
        trained_on=len(train),
        held_out=len(held),
        steps=steps,
    )
