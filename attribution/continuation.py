"""Attribution of the continuation model's proposals to the stage pairs that taught it.

A continuation run's training items are pairs of consecutive stages, each recorded under its
next stage's id (`ledger.process_records`). An item's gradient features are those of the
model's denoising loss of the next stage *given the previous one* (the previous image rides
along as un-noised context channels, `attribution.gradients`), and a proposal is queried with
the image it was shown: its parent (the donated stage, the proposal before it, or the upload).
So the series whose step from a stage like this one to the next most lowered the proposal's
loss are credited, and the credit lands on the next stage of each such pair: the image whose
making the model learned, while the previous stage was only shown to it (it is credited in its
own pair, as the next stage of the stage before it). Credit grouped by donation and artist,
and therefore the royalties, are the same either way: both stages are the same donor's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

import torch

from attribution.methods import Method
from attribution.runs import RunAttribution
from generation.model import images_to_tensor
from generation.process.model import build_continuation_unet, continuation_class
from generation.process.service import continuation_config
from ledger.application import MuseumLedger
from ledger.domain.model import CONTINUATION, Generation, TrainingRun
from ledger.errors import Conflict, KeyShredded
from ledger.model_records import ModelRecords
from ledger.process_records import StagePair
from ledger.training_snapshot import TrainingItem

__all__ = ["ContinuationRunAttribution", "attribution_of"]


class ContinuationRunAttribution(RunAttribution):
    """`RunAttribution` over a continuation run's pairs (see the module docstring)."""

    def __init__(
        self, ledger: MuseumLedger, run: TrainingRun, method: Method, root: Path, **options: Any
    ) -> None:
        super().__init__(ledger, run, method, root, **options)
        self.continuation = continuation_config(run)
        self.context_channels = self.config.channels
        self.pairs = {item["item_id"]: StagePair.from_dict(item) for item in run.items}

    def _model(self) -> torch.nn.Module:
        return build_continuation_unet(self.continuation)

    def _read(self, item: TrainingItem) -> list[bytes]:
        pair = self.pairs[item.item_id]
        return [
            self.ledger.stage_image(pair.donation_id, pair.stage_index),
            self.ledger.stage_image(pair.donation_id, pair.previous_stage_index),
        ]

    def _class_ids(self, members: list[TrainingItem]) -> list[int]:
        return [
            continuation_class(i.role, i.emotion, self.pairs[i.item_id].failure_type)
            for i in members
        ]

    def _parent_image(self, generation: Generation) -> bytes:
        parent = generation.parent
        if parent is None:
            raise Conflict(f"generation {generation.id} names no parent to continue from")
        if parent["kind"] == "stage":
            try:
                return self.ledger.stage_image(UUID(parent["donation_id"]), parent["stage_index"])
            except KeyShredded:
                raise Conflict(
                    f"the stage generation {generation.id} continues was erased: it can no "
                    "longer be attributed"
                ) from None
        if parent["kind"] == "generation":
            before = ModelRecords(self.ledger).get_generation(UUID(parent["generation_id"]))
            return self.ledger.blobs.get(before.blob_id)
        return self.ledger.blobs.get(parent["blob_id"])

    def _query(self, generation: Generation) -> tuple[torch.Tensor, list[int]]:
        shown = [self.ledger.blobs.get(generation.blob_id), self._parent_image(generation)]
        query = torch.cat(list(images_to_tensor(shown, self.config)), dim=0).unsqueeze(0)
        c = generation.conditioning
        return query, [continuation_class(c["role"], c["emotion"], c["failure_type"])]


def attribution_of(
    ledger: MuseumLedger, run: TrainingRun, method: Method, root: Path, *, seed: int = 0
) -> RunAttribution:
    """The attribution of `run`'s generations, for either model variant."""
    if run.variant == CONTINUATION:
        return ContinuationRunAttribution(ledger, run, method, root, seed=seed)
    return RunAttribution(ledger, run, method, root, seed=seed)
