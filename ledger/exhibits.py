"""The exhibition's works: each generated image beside the donors and the stages that shaped it.

Nothing here decides anything new. The credit is the generation's latest attribution as
`AttributionRecords.describe` gives it (pseudonyms, "anonymous donor", "erased donor"); a
credited stage is shown only while its donation may be shown to a visitor
(`Exhibition.donation` with the `nobody` viewer: `exhibit` consent holds now), and the share
of the stages that are not on show is summed, never named.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from ledger.attribution_records import AttributionRecords
from ledger.errors import NotFound
from ledger.exhibition import Exhibition, nobody
from ledger.model_reads import ModelReads
from ledger.model_views import AttributionRead, GenerationRead
from ledger.views import DonationRead, View

# Training items of a run never change once it started: kept per run, for this many runs.
KEPT_RUNS = 64


class CreditedStageRead(View, frozen=True, kw_only=True):
    """A credited stage on show: which one, its share, whose it is, and its museum label."""

    donation_id: str
    stage_index: int
    role: str
    ppm: int
    credited_to: str
    title: str | None
    failure_type: str
    failure_note: str | None
    caption: str | None


class WorkRead(View, frozen=True, kw_only=True):
    """A generated work as the exhibition shows it. `attribution` is None before the first;
    `hidden_ppm` is the share of credited stages whose donors do not exhibit them now."""

    generation: GenerationRead
    attribution: AttributionRead | None
    stages: list[CreditedStageRead]
    hidden_ppm: int


@dataclass
class Exhibits:
    attributions: AttributionRecords
    model_reads: ModelReads
    exhibition: Exhibition
    _items: dict[UUID, dict[str, dict[str, Any]]] = field(default_factory=dict, init=False)

    def works(self, cursor: str | None, limit: int) -> tuple[list[WorkRead], str | None]:
        """Works in the order they were made, `limit` at a time."""
        generations, following = self.model_reads.generations(cursor, limit)
        donations: dict[UUID, DonationRead | None] = {}
        return [self._work(g, donations) for g in generations], following

    def work(self, generation_id: UUID) -> WorkRead:
        return self._work(self.model_reads.generation(generation_id), {})

    def _work(
        self, generation: GenerationRead, donations: dict[UUID, DonationRead | None]
    ) -> WorkRead:
        latest = self.attributions.latest_for(UUID(generation.generation_id))
        if latest is None:
            return WorkRead(generation=generation, attribution=None, stages=[], hidden_ppm=0)
        attribution = self.attributions.describe(latest)
        items = self._run_items(latest.model_version)
        shown: list[tuple[dict[str, Any], int, DonationRead]] = []
        hidden = 0
        for share in attribution.shares_ppm:
            item = items.get(share.item_id)
            donation = None if item is None else self._on_show(UUID(item["donation_id"]), donations)
            if item is None or donation is None:
                hidden += share.ppm
            else:
                shown.append((item, share.ppm, donation))
        names = self.attributions.public_names(list({UUID(i["artist_id"]) for i, _, _ in shown}))
        stages = []
        for item, ppm, donation in shown:
            index = int(item["stage_index"])
            stage = donation.stages[index] if index < len(donation.stages) else None
            stages.append(
                CreditedStageRead(
                    donation_id=donation.donation_id,
                    stage_index=index,
                    role=str(item["role"]),
                    ppm=ppm,
                    credited_to=names[UUID(item["artist_id"])],
                    title=donation.label.title,
                    failure_type=donation.label.failure_type,
                    failure_note=donation.label.failure_note,
                    caption=None if stage is None else stage.caption,
                )
            )
        return WorkRead(
            generation=generation, attribution=attribution, stages=stages, hidden_ppm=hidden
        )

    def _on_show(
        self, donation_id: UUID, seen: dict[UUID, DonationRead | None]
    ) -> DonationRead | None:
        if donation_id not in seen:
            try:
                seen[donation_id] = self.exhibition.donation(donation_id, nobody)
            except NotFound:
                seen[donation_id] = None
        return seen[donation_id]

    def _run_items(self, run_id: UUID) -> dict[str, dict[str, Any]]:
        known = self._items.get(run_id)
        if known is None:
            run = self.model_reads.records.get_run(run_id)
            known = {str(item["item_id"]): item for item in run.items}
            if len(self._items) >= KEPT_RUNS:
                self._items.clear()
            self._items[run_id] = known
        return known
