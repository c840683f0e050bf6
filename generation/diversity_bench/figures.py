"""The figures of `museum bench diversity` as typed, frozen views, and the rule of its verdict.

Torch-free, so that the command line can render a saved JSON object without loading a model.
"""

from __future__ import annotations

from typing import Any

from ledger.views import View

PRECISION_MARGIN = 0.05  # A's precision may trail B's by at most this (interval's low end)
LOSS_RATIO_LIMIT = 1.10  # A's held-back denoising loss on finals over B's, at most
VERDICT_RULE = (
    "yes: the paired Vendi difference (embedding, per condition and seed) has its 95 % "
    f"interval above 0, the precision difference's interval low end ≥ −{PRECISION_MARGIN} and "
    f"the held-back final-stage loss ratio ≤ {LOSS_RATIO_LIMIT}; no: that Vendi interval lies "
    f"below 0, or the precision difference's interval lies below −{PRECISION_MARGIN} (more "
    "varied only by being further from real finals); not shown: anything else"
)


class IntervalRead(View, frozen=True, kw_only=True):
    """A mean with its 95 % percentile bootstrap interval."""

    value: float
    low: float
    high: float


class ConditionRead(View, frozen=True, kw_only=True):
    """One condition of one arm: Vendi of its samples in both spaces, mean over training seeds
    with the interval over seeds."""

    condition: str
    class_id: int
    training_finals: int  # of this condition in the training part (what B saw of it)
    vendi_pixels: IntervalRead
    vendi_embedding: IntervalRead


class RoleRead(View, frozen=True, kw_only=True):
    """The process arm asked for a role other than final (B cannot answer these): its samples
    over the role's emotions pooled, against held-back real stages of that role."""

    role: str
    samples: int
    held_back_real: int
    vendi_pixels: IntervalRead
    vendi_embedding: IntervalRead
    precision: IntervalRead | None
    recall: IntervalRead | None


class ArmRead(View, frozen=True, kw_only=True):
    """One arm on the final × emotion conditions."""

    arm: str
    learns_from: str
    trained_items: int
    final_training_loss: float  # mean over seeds of the last steps' training loss
    vendi_pixels: IntervalRead  # per-condition Vendi, over (seed, condition) pairs
    vendi_embedding: IntervalRead
    vendi_pooled_pixels: IntervalRead  # every condition's samples together, over seeds
    vendi_pooled_embedding: IntervalRead
    precision: IntervalRead  # against held-back real finals, bootstrap over samples
    recall: IntervalRead
    held_back_loss: IntervalRead | None  # held-back finals, bootstrap over items
    held_back_loss_all_stages: IntervalRead | None
    conditions: list[ConditionRead]
    other_roles: list[RoleRead]


class ComparisonRead(View, frozen=True, kw_only=True):
    """An arm against the finals-only arm: paired differences (arm − finals) and the verdict."""

    arm: str
    against: str
    vendi_pixels_diff: IntervalRead
    vendi_embedding_diff: IntervalRead
    precision_diff: IntervalRead
    recall_diff: IntervalRead
    held_back_loss_diff: IntervalRead | None
    held_back_loss_ratio: float | None
    more_diverse_at_equal_quality: str  # "yes" | "no" | "not shown"
    because: str


class PromptArmRead(View, frozen=True, kw_only=True):
    """One arm's answers to the one prompt: spread and Vendi in the embedding, over seeds."""

    arm: str
    mean_pairwise_distance: IntervalRead
    vendi_embedding: IntervalRead


class PromptRead(View, frozen=True, kw_only=True):
    """ "Same request, different approaches": one condition asked N times of every arm."""

    condition: str
    class_id: int
    samples: int
    arms: list[PromptArmRead]
    distance_diff: IntervalRead  # process − finals, paired by training seed
    contact_sheet: str | None  # path of the PNG (rows: seed-0 samples of each arm, in order)


class EmbeddingRead(View, frozen=True, kw_only=True):
    """The bench's own feature network on this data set and how well it does held out."""

    trained_on: int
    held_out: int
    steps: int
    role_accuracy: float
    group_accuracy: float
    group: str  # what the second head names (style family, digit)
    chance_role: float
    chance_group: float


class DatasetRead(View, frozen=True, kw_only=True):
    """One data set: its parts, the embedding, every arm, the comparisons and the prompt."""

    dataset: str
    description: str
    training_stages: int
    training_finals: int
    held_back_stages: int
    held_back_finals: int
    conditions: list[str]
    embedding: EmbeddingRead
    arms: list[ArmRead]
    comparisons: list[ComparisonRead]
    prompt: PromptRead


class DiversityBenchRead(View, frozen=True, kw_only=True):
    """What `museum bench diversity` measured; `measured` is False for the tiny test preset."""

    bench: str
    quick: bool
    measured: bool
    preset: str
    seeds: list[int]
    samples: int
    train_steps: int
    batch_size: int
    sample_steps: int
    k: int
    bootstrap: int
    comparable: str  # which conditions both arms are asked, and why
    verdict_rule: str
    datasets: list[DatasetRead]
    machine: dict[str, Any]
    seconds_total: float
