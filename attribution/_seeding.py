"""Derived seeds for attribution: the checks and derivation of `generation.seeds`, and a torch
generator seeded by them (one place for the rule; this module adds only the generator)."""

from __future__ import annotations

import torch

from generation.seeds import check_seed, derived_seed

__all__ = ["check_seed", "derived_generator", "derived_seed"]


def derived_generator(seed: int, stream: str, index: int) -> torch.Generator:
    """A fresh CPU generator seeded by `derived_seed`."""
    generator = torch.Generator(device="cpu")
    generator.manual_seed(derived_seed(seed, stream, index))
    return generator
