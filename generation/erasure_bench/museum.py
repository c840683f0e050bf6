"""The museum the erasure bench erases from: a real embedded ledger of digit donors whose shards
are balanced, the donors to erase, and the never-donated scans the models are scored against.

Shards are by artist (`ledger.shards`): SHA-256 of the artist id modulo S. Artist ids are
random, so donors are registered until each of `balanced_over` shards holds the same number;
a donor registered beyond that donates nothing. When `balanced_over` is a multiple of S, an
artist's shard of S is its shard of `balanced_over` modulo S, so every such S is balanced as
well, and the erased donors (all in shard 0 of `balanced_over`) share one shard of every S.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from uuid import UUID

from collection import DonationDraft, digits_collection, donation_request
from generation.erasure_bench.scoring import Probe
from generation.model import images_to_tensor, label_to_class
from generation.presets import ModelConfig
from ledger.application import MuseumLedger
from ledger.benchkit import bench_settings
from ledger.runtime import opened_ledger
from ledger.schemas import ArtistCreate
from ledger.settings import Settings
from ledger.shards import shard_of

ERASED_SHARD = 0


@dataclasses.dataclass(frozen=True)
class Museum:
    """The seeded ledger every S starts from (copied, never changed), and the scoring probes:
    the erased donors' stages and the never-donated scans, decoded as training decodes them."""

    settings: Settings
    registered: int
    donors: int
    training_items: int
    erased: list[UUID]
    erased_shard: int
    erased_probe: Probe
    held_probe: Probe
    seconds: float


def _scans(
    classes: tuple[int, ...], config: ModelConfig, seed: int
) -> dict[int, list[DonationDraft]]:
    """Every scan of the chosen digits as a donation draft, shuffled by the seed, by class."""
    by_class: dict[int, list[DonationDraft]] = {digit: [] for digit in classes}
    for artist in digits_collection(
        classes=classes, per_artist=10_000, size=config.resolution, seed=seed
    ):
        for draft in artist.donations:
            if draft.digit is not None:
                by_class[draft.digit].append(draft)
    return by_class


def _deal(
    by_class: dict[int, list[DonationDraft]], classes: tuple[int, ...], count: int
) -> list[DonationDraft]:
    """`count` scans, the classes in turn, each scan at most once."""
    taken = dict.fromkeys(classes, 0)
    dealt: list[DonationDraft] = []
    for k in range(count):
        digit = classes[k % len(classes)]
        if taken[digit] >= len(by_class[digit]):
            raise ValueError(
                f"the digits hold {len(by_class[digit])} scans of {digit}: too few for "
                f"{count} items (fewer donors, stages or held-back scans, or more classes)"
            )
        dealt.append(by_class[digit][taken[digit]])
        taken[digit] += 1
    return dealt


def _probe(
    drafts: Sequence[DonationDraft], config: ModelConfig, timesteps: list[int], seed: int
) -> Probe:
    images = images_to_tensor([draft.stages[0].image for draft in drafts], config)
    labels = [label_to_class(d.stages[0].role, d.label.emotion) for d in drafts]
    return Probe.make(images, labels, timesteps, seed)


def _register_balanced(
    ledger: MuseumLedger, shards: int, per_shard: int
) -> tuple[list[list[UUID]], int]:
    """Register donors until each of `shards` shards holds `per_shard` of them; the donors by
    shard (in registration order) and how many were registered in all."""
    slots: list[list[UUID]] = [[] for _ in range(shards)]
    registered = 0
    while any(len(slot) < per_shard for slot in slots):
        registered += 1
        artist_id = ledger.register_artist(
            ArtistCreate(
                pseudonym=f"Erasure Bench Donor {registered:04d}",
                legal_name=f"Bench Donor {registered}",
                contact=f"bench.donor.{registered}@example.org",
            )
        )
        slot = slots[shard_of(str(artist_id), shards)]
        if len(slot) < per_shard:
            slot.append(artist_id)
    return slots, registered


def seed_museum(
    home: Path,
    *,
    config: ModelConfig,
    classes: tuple[int, ...],
    balanced_over: int,
    donors_per_shard: int,
    stages_per_donor: int,
    erased_donors: int,
    held_back: int,
    timesteps: list[int],
    seed: int,
    say: Callable[[str], None],
) -> Museum:
    """A fresh embedded ledger under `home`: `balanced_over × donors_per_shard` donors of
    `stages_per_donor` single-stage donations each (training consent given), the first
    `erased_donors` of shard 0 marked for erasure, and `held_back` scans never donated."""
    began = time.perf_counter()
    donors = balanced_over * donors_per_shard
    items = donors * stages_per_donor
    # 1. Deal every scan first, so that too small a data set is refused before any work.
    dealt = _deal(_scans(classes, config, seed), classes, items + held_back)
    stages, held = dealt[:items], dealt[items:]
    settings = bench_settings(home)
    erased_drafts: list[DonationDraft] = []
    with opened_ledger(settings) as ledger:
        # 2. Donors, balanced over the shards, then their donations.
        say(f"seeding the museum: {donors} donors balanced over {balanced_over} shards")
        slots, registered = _register_balanced(ledger, balanced_over, donors_per_shard)
        erased = slots[ERASED_SHARD][:erased_donors]
        order = [artist_id for slot in slots for artist_id in slot]
        for n, artist_id in enumerate(order):
            mine = stages[n * stages_per_donor : (n + 1) * stages_per_donor]
            for draft in mine:
                ledger.donate(donation_request(artist_id, draft))
            if artist_id in erased:
                erased_drafts += mine
    return Museum(
        settings=settings,
        registered=registered,
        donors=donors,
        training_items=items,
        erased=erased,
        erased_shard=ERASED_SHARD,
        erased_probe=_probe(erased_drafts, config, timesteps, seed + 1),
        held_probe=_probe(held, config, timesteps, seed + 2),
        seconds=time.perf_counter() - began,
    )
