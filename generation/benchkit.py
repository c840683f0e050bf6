"""torch's side of what the bench harnesses share: its thread count for a block, and its facts
(version, threads, CUDA) beside the machine's (`ledger.benchkit`, which never loads torch)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import metadata
from typing import Any

import torch


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """torch's CPU threads set to `threads` (None: leave them) for the block, then restored."""
    if threads is not None and (
        isinstance(threads, bool) or not isinstance(threads, int) or threads < 1
    ):
        raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def devices() -> list[str]:
    """The devices a bench measures on: the CPU, and CUDA when there is one."""
    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


def torch_facts(*keys: str) -> dict[str, Any]:
    """torch's facts a bench reports, in the order asked: torch, torch_threads,
    torch_interop_threads, diffusers, captum, cuda, cuda_device, devices."""
    cuda = torch.cuda.is_available()
    facts: dict[str, Callable[[], object]] = {
        "torch": lambda: torch.__version__,
        "torch_threads": torch.get_num_threads,
        "torch_interop_threads": torch.get_num_interop_threads,
        "diffusers": lambda: metadata.version("diffusers"),
        "captum": lambda: metadata.version("captum"),
        "cuda": lambda: cuda,
        "cuda_device": lambda: torch.cuda.get_device_name(0) if cuda else None,
        "devices": devices,
    }
    unknown = set(keys) - set(facts)
    if unknown:
        raise ValueError(f"unknown torch facts: {sorted(unknown)}")
    return {key: facts[key]() for key in keys}
