"""Similar failures: how other donors moved on from a failure like this one.

For a donated stage, or an uploaded image with its labels, the donated *failure* stages
nearest to it in the deployed model's own feature space (`generation.similar.features`), with
what came after each: the next stages, the failure note and the label. The labels order the
answer first: failures filed under the query's failure type come before the others (and,
when an emotion is asked for, those of that emotion first within each), nearest first.

Only donations whose `exhibit` consent holds now take part, credited by pseudonym (never by
identity); the query's own donation, erased donors and donors whose key is shredded never do.
A query is a read: it records nothing in the ledger. Its only write is the failure-stage index
of the deployed version, a cache beside the blob store (`generation.similar.index`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import torch

# Imported from their modules: the package root re-exports dummies under type checking.
from diffusers.models.unets.unet_2d import UNet2DModel
from safetensors import SafetensorError

from generation.model import images_to_tensor
from generation.presets import ModelConfig
from generation.service import load_version
from generation.similar.features import (
    FEATURE_SETTINGS,
    FeatureSettings,
    blank_page,
    failure_features,
)
from generation.similar.index import (
    FailureIndex,
    FailureIndexStore,
    folder_name,
    nearest,
    origin_of,
)
from generation.similar.limits import DEFAULT_COUNT, MAX_COUNT, check_count
from generation.similar.views import (
    NextStageRead,
    SimilarFailureRead,
    SimilarFailuresRead,
    SimilarQueryRead,
)
from ledger.application import MuseumLedger
from ledger.domain import Donation
from ledger.domain.model import TrainingRun
from ledger.errors import Conflict, KeyShredded, NotFound
from ledger.exhibition import Exhibition, Viewer, exhibited, nobody
from ledger.images import inspect_image
from ledger.model_records import ModelRecords
from ledger.vocabulary import Emotion, FailureType, StageRole, parse

__all__ = ["DEFAULT_COUNT", "MAX_COUNT", "SimilarFailures", "check_count", "index_root"]


def index_root(home: Path) -> Path:
    """Failure-stage indexes sit beside the blob store, like the attribution indexes."""
    return home / "similar-failures"


@dataclass(frozen=True)
class _Candidate:
    item_id: str
    donation: Donation
    stage_index: int


class SimilarFailures:
    """The service; keeps the deployed version's shard models loaded between queries."""

    def __init__(
        self, ledger: MuseumLedger, root: Path, settings: FeatureSettings = FEATURE_SETTINGS
    ) -> None:
        self.ledger = ledger
        self.root = root
        self.settings = settings
        self._lock = threading.Lock()
        self._model: tuple[UUID, ModelConfig, list[UNet2DModel]] | None = None

    # --- the two queries --------------------------------------------------------------------

    def for_stage(
        self,
        donation_id: UUID,
        stage_index: int,
        *,
        count: int = DEFAULT_COUNT,
        emotion: str | None = None,
        sees_all: Viewer = nobody,
    ) -> SimilarFailuresRead:
        """From a donated stage. The query's donation must be exhibited (its stage is shown
        beside the others): a caller who may not see it gets `NotFound`, its own artist (or
        compliance, or the command line) a `Conflict` that says why."""
        check_count(count)
        wanted_emotion = None if emotion is None else parse(Emotion, emotion, "emotion")
        donation = self.ledger.get_donation(donation_id)
        if not exhibited(donation):
            if not sees_all(donation.artist_id):
                raise NotFound(f"no donation {donation_id}")
            raise Conflict(
                f"donation {donation_id} does not hold exhibit consent: its stage would be shown "
                "beside other donors' failures; grant exhibit consent, or upload the image instead"
            )
        if not 0 <= stage_index < len(donation.stages):
            raise NotFound(f"donation {donation_id} has no stage {stage_index}")
        image = self.ledger.stage_image(donation_id, stage_index)
        query = SimilarQueryRead(
            kind="stage",
            donation_id=str(donation_id),
            stage_index=stage_index,
            role=donation.stages[stage_index].role,
            failure_type=donation.failure_type,
            emotion=wanted_emotion,
        )
        return self._answer(query, image, count, exclude=donation_id)

    def for_image(
        self,
        image: bytes,
        *,
        role: str,
        failure_type: str,
        emotion: str | None = None,
        count: int = DEFAULT_COUNT,
    ) -> SimilarFailuresRead:
        """From an uploaded image (never stored) with its role and failure type."""
        check_count(count)
        query = SimilarQueryRead(
            kind="upload",
            donation_id=None,
            stage_index=None,
            role=parse(StageRole, role, "stage role"),
            failure_type=parse(FailureType, failure_type, "failure type"),
            emotion=None if emotion is None else parse(Emotion, emotion, "emotion"),
        )
        inspect_image(image, "the uploaded image")  # not an image, or too large: refused here
        return self._answer(query, image, count, exclude=None)

    # --- the steps --------------------------------------------------------------------------

    def _answer(
        self, query: SimilarQueryRead, image: bytes, count: int, *, exclude: UUID | None
    ) -> SimilarFailuresRead:
        # 1. The deployed version and its shard models (loaded once per version).
        run = ModelRecords(self.ledger).model_version()
        with self._lock:
            config, unets = self._loaded(run)
            # 2. Every failure stage that may be shown now, and the index kept to exactly those.
            eligible = self._eligible()
            index = self._index(run, config, unets, eligible)
            # 3. The query's own features, under the same settings.
            query_and_origin = torch.cat([images_to_tensor([image], config), blank_page(config)])
            vector, blank = failure_features(unets, config, query_and_origin, self.settings)
        # 4. Rank: the same failure type first (and, when asked, the same emotion), then the
        #    other failures; nearest first within each tier, equal ones by item id.
        candidates = [c for c in eligible if c.donation.id != exclude]
        by_id = {c.item_id: c for c in candidates}
        scored = nearest(vector, index, list(by_id), len(by_id), origin=origin_of(index, blank))
        ranked = sorted(scored, key=lambda pair: (self._tier(query, by_id[pair[0]]), -pair[1]))
        # 5. How each of them moved on.
        return SimilarFailuresRead(
            query=query,
            model_version=str(run.id),
            features=self.settings.as_dict(),
            considered=len(candidates),
            same_failure_type=sum(
                c.donation.failure_type == query.failure_type for c in candidates
            ),
            matches=[
                self._match(rank, query, by_id[item_id], similarity)
                for rank, (item_id, similarity) in enumerate(ranked[:count], start=1)
            ],
        )

    @staticmethod
    def _tier(query: SimilarQueryRead, candidate: _Candidate) -> tuple[bool, bool]:
        donation = candidate.donation
        return (
            donation.failure_type != query.failure_type,
            query.emotion is not None and donation.emotion != query.emotion,
        )

    def _loaded(self, run: TrainingRun) -> tuple[ModelConfig, list[UNet2DModel]]:
        if self._model is None or self._model[0] != run.id:
            try:
                config, unets = load_version(self.ledger, run)
            except (KeyError, ValueError, TypeError, RuntimeError, SafetensorError) as exc:
                raise Conflict(
                    f"the deployed model version {run.id} has no loadable weights "
                    f"({type(exc).__name__}): it cannot compare stages; train one (museum train)"
                ) from None
            self._model = (run.id, config, unets)
        return self._model[1], self._model[2]

    def _eligible(self) -> list[_Candidate]:
        """Failure stages of exhibited donations whose donor is neither erased nor shredded."""
        found: list[_Candidate] = []
        readable: dict[UUID, bool] = {}
        for donation_id in self.ledger.ids_with_topic(Donation.DonationMade):
            donation = self.ledger.get_donation(donation_id)
            if not exhibited(donation):
                continue
            artist_id = donation.artist_id
            if artist_id not in readable:
                readable[artist_id] = self._readable(artist_id)
            if not readable[artist_id]:
                continue
            found += [
                _Candidate(f"{donation_id}:{stage.index}", donation, stage.index)
                for stage in donation.stages
                if stage.role == StageRole.FAILURE
            ]
        return found

    def _readable(self, artist_id: UUID) -> bool:
        if self.ledger.get_artist(artist_id).erased:
            return False
        try:
            self.ledger.data_key(artist_id)
        except KeyShredded:
            return False
        return True

    def _index(
        self,
        run: TrainingRun,
        config: ModelConfig,
        unets: list[UNet2DModel],
        eligible: list[_Candidate],
    ) -> FailureIndex:
        hashes = [c["hash"] for c in run.final_checkpoints()]
        store = FailureIndexStore(
            self.root, folder_name(str(run.id), hashes, self.settings.as_dict())
        )
        where = {c.item_id: c for c in eligible}

        def compute(item_ids: list[str]) -> torch.Tensor:
            images = [
                self.ledger.stage_image(where[i].donation.id, where[i].stage_index)
                for i in item_ids
            ]
            return failure_features(unets, config, images_to_tensor(images, config), self.settings)

        return store.sync([c.item_id for c in eligible], compute)

    def _match(
        self, rank: int, query: SimilarQueryRead, candidate: _Candidate, similarity: float
    ) -> SimilarFailureRead:
        exhibition = Exhibition(self.ledger)
        donation = candidate.donation
        read = exhibition.donation(donation.id, nobody)
        stage = read.stages[candidate.stage_index]
        following = read.stages[candidate.stage_index + 1 :]
        return SimilarFailureRead(
            rank=rank,
            similarity=round(similarity, 6),
            donation_id=read.donation_id,
            stage_index=candidate.stage_index,
            pseudonym=exhibition.artist(donation.artist_id, nobody).pseudonym,
            failure_type=read.label.failure_type,
            same_failure_type=read.label.failure_type == query.failure_type,
            emotion=read.label.emotion,
            title=read.label.title,
            failure_note=read.label.failure_note,
            failure_detail=read.label.failure_detail,
            caption=stage.caption,
            next_stages=[
                NextStageRead(
                    index=s.index, role=s.role, created_at=s.created_at, caption=s.caption
                )
                for s in following
            ],
            reached_final=any(s.role == StageRole.FINAL for s in following),
        )
