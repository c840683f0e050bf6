"""What a similar-failures query answers: typed, frozen views (`ledger.views.View`).

Every donor is credited by pseudonym ("anonymous donor" where they chose anonymity), never by
identity; only donations whose `exhibit` consent holds when the query is answered appear.
"""

from __future__ import annotations

from typing import Any

from ledger.views import View


class SimilarQueryRead(View, frozen=True, kw_only=True):
    """What was asked: a donated stage (`donation_id`, `stage_index`) or an uploaded image
    (both None), with the labels that order the answer."""

    kind: str  # "stage" or "upload"
    donation_id: str | None
    stage_index: int | None
    role: str
    failure_type: str
    emotion: str | None


class NextStageRead(View, frozen=True, kw_only=True):
    """A stage that came after the matched failure: how the donor moved on."""

    index: int
    role: str
    created_at: str
    caption: str | None


class SimilarFailureRead(View, frozen=True, kw_only=True):
    """One donated failure stage near the query, its label, and the stages that followed it.

    `similarity` is the cosine of the two feature vectors (1: the model sees them alike)."""

    rank: int
    similarity: float
    donation_id: str
    stage_index: int
    pseudonym: str
    failure_type: str
    same_failure_type: bool
    emotion: str
    title: str | None
    failure_note: str | None
    failure_detail: str | None
    caption: str | None
    next_stages: list[NextStageRead]
    reached_final: bool


class SimilarFailuresRead(View, frozen=True, kw_only=True):
    """The answer: the query, the model version whose features were compared, how they were
    taken (`generation.similar.features`), how many failure stages qualified (`considered`; of
    them `same_failure_type` filed under the query's failure type), and the matches: those of
    the query's failure type first (of its emotion first, when one was asked), nearest first."""

    query: SimilarQueryRead
    model_version: str
    features: dict[str, Any]
    considered: int
    same_failure_type: int
    matches: list[SimilarFailureRead]
