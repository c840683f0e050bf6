"""Read models of the compliance reports (`ledger.compliance`): what legal staff are shown.

Same conventions as `ledger.views`: frozen msgspec Structs whose field names are the JSON keys,
times as ISO 8601 strings with their zone. No view here holds personal data: artists appear by
id and pseudonym (or "erased donor"), donations by id, the collection by its public tags and
controlled vocabularies. Figures that are fractions are exact: an integer in parts per million
(rounded half to even) beside the exact value as the text "numerator/denominator".
"""

from __future__ import annotations

from ledger.views import ReceiptRead, View


class CountRead(View, frozen=True, kw_only=True):
    """How many of something fall under one key (a tag, a vocabulary value, a reason)."""

    key: str
    count: int


# --- 1. a training run --------------------------------------------------------------------


class ConsentEvidenceRead(View, frozen=True, kw_only=True):
    """The event a run relied on for a donation's `train` consent, and proof it is in the log.

    `event` and `version` are what the run recorded at its start; `grants_train` says whether
    the stored event at that version does grant `train` consent, and `train_consent_at_start`
    whether consent held at the run's start when the donation's events are replayed. The
    receipt (event bytes, inclusion path, signed head) checks offline with
    `ledger.receipt.verify_receipt`; it is None only if the event is missing from the log.
    """

    donation_id: str
    event: str
    version: int
    at: str
    notification_id: int | None
    grants_train: bool
    train_consent_at_start: bool
    receipt: ReceiptRead | None


class RunItemRead(View, frozen=True, kw_only=True):
    """One item of a run as its start snapshotted it, and the consent event it relied on.

    `blob_id` is the SHA-256 of the stored (sealed) image, `fingerprint` the keyed hash of the
    image itself; `consent_notification_id` points into the page's `consent_events` (None when
    the run recorded no consent event for the donation, which the report shows, never hides).
    """

    item_id: str
    donation_id: str
    stage_index: int
    role: str
    blob_id: str
    fingerprint: str
    consent_notification_id: int | None
    train_consent_at_start: bool


class FeedbackGivenRead(View, frozen=True, kw_only=True):
    """A feedback event a run's weights relied on: its id, the stage it was on, when."""

    feedback_id: str
    stage_index: int | None
    at: str


class FeedbackEffectRead(View, frozen=True, kw_only=True):
    """What visitor feedback changed for one donation in a run (`ledger.feedback_effects`):
    the feedback relied on, its stages' weight against the unweighted baseline (1), and its
    share of its shard's draws, weighted against the baseline (ppm and exact fractions)."""

    donation_id: str
    shard: int
    feedback: list[FeedbackGivenRead]
    stages: int
    weight: float
    baseline_weight: float
    share_ppm: int
    baseline_share_ppm: int
    share: str
    baseline_share: str


class TrainingRunReportRead(View, frozen=True, kw_only=True):
    """A page of a run's items with the consent each relied on, proven against one signed head.

    `next` is the cursor (an item id) to pass as `after` for the following page; None on the
    last page. The items keep the run's own order, which never changes. `feedback_effects`
    (on every page, whole): which feedback changed which donation's weight; empty when none did
    (and for runs recorded before runs kept it).
    """

    run_id: str
    state: str
    started_at: str
    ended_at: str | None
    shards: int
    items_total: int
    donations_total: int
    items: list[RunItemRead]
    consent_events: list[ConsentEvidenceRead]
    next: str | None
    feedback_effects: list[FeedbackEffectRead]


class ExcludedDonationRead(View, frozen=True, kw_only=True):
    """A donation the run did not train on, and why (`ledger.compliance.EXCLUSION_REASONS`).

    `at` is the moment that decided it: the donation's time (donated after the start, never
    granted), the last revocation before the start, or the withdrawal for erasure.
    """

    donation_id: str
    reason: str
    at: str
    item_ids: list[str]


class RunExclusionsRead(View, frozen=True, kw_only=True):
    """A page of the donations a run excluded; `counts` covers all of them, not just the page."""

    run_id: str
    started_at: str
    excluded_total: int
    counts: list[CountRead]
    excluded: list[ExcludedDonationRead]
    next: str | None


# --- 2. erasures --------------------------------------------------------------------------


class ErasureReportLineRead(View, frozen=True, kw_only=True):
    """One erasure: its deadline, its completion and the retraining that carried it to the model.

    `retraining_runs` are those the certificate names once complete; `awaiting_retraining_of`
    the deployed model version still trained on the artist's items while it is open.
    `overdue`: still open past its deadline at the report's `now`; `time_left_seconds` until
    the deadline (negative once past it; null once complete). `state`: `complete`; `retraining`
    (the run `retraining_run` serves the request now); `waiting` (for the retraining batch due
    at `retraining_due_at`); `interrupted` (the key is not destroyed yet: asking again resumes
    it); `open` (no model holds the artist's items any more: the next `museum retrain`
    certifies it).
    """

    artist_id: str
    artist: str
    requested_at: str
    deadline: str
    completed_at: str | None
    retraining_runs: list[str]
    awaiting_retraining_of: list[str]
    overdue: bool
    state: str
    time_left_seconds: int | None
    retraining_due_at: str | None
    retraining_run: str | None


class ErasuresReportRead(View, frozen=True, kw_only=True):
    """Every erasure, oldest request first, with the counts a compliance officer checks first."""

    now: str
    total: int
    open: int
    completed: int
    overdue: int
    erasures: list[ErasureReportLineRead]


# --- 3. the deployed model's training data ---------------------------------------------------


class TrainingDataSummaryRead(View, frozen=True, kw_only=True):
    """A public summary of what a model version was trained on, in the spirit of the EU AI
    Act's template for the training content of general-purpose AI models.

    Item counts by tag count an item once under each tag of its donation (a donation may carry
    several cultures); items of a donation without a tag of that kind count under "untagged".
    """

    model_version: str
    deployed: bool
    shards: int
    run_started_at: str
    run_completed_at: str | None
    items: int
    donations: int
    donors: int
    by_culture: list[CountRead]
    by_region: list[CountRead]
    by_genre: list[CountRead]
    by_failure_type: list[CountRead]
    by_stage_role: list[CountRead]
    by_emotion: list[CountRead]
    consent_basis: str
    donations_from: str
    donations_to: str


# --- 4. attribution concentration -------------------------------------------------------------


class AttributionConcentrationRead(View, frozen=True, kw_only=True):
    """How concentrated credit was across artists over [start, end).

    Credit of an artist = the sum of their ppm shares over the attributions recorded in the
    period. `gini` is over the artists credited (credit > 0); `top10_share` the part of all
    credit that the ten most credited artists hold. Both are None when nothing was credited
    in the period: concentration of no credit is undefined, and 0 would claim equality.
    """

    start: str
    end: str
    method: str | None
    attributions: int
    artists_credited: int
    total_credit_ppm: int
    gini_ppm: int | None
    gini_exact: str | None
    top10_share_ppm: int | None
    top10_share_exact: str | None
