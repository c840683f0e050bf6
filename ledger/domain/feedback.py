"""Process-centred feedback: what was tried at a stage, and what could be tried next."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.errors import InvalidInput
from ledger.validation import text

FEEDBACK_TARGETS = ("donation", "generation")
MAX_TEXT = 4000


class Feedback(Aggregate):
    class FeedbackGiven(Aggregate.Created):
        target_kind: str
        target_id: UUID
        stage_index: int | None
        tried: str
        next_try: str
        author: str

    @event(FeedbackGiven)
    def __init__(
        self,
        target_kind: str,
        target_id: UUID,
        stage_index: int | None,
        tried: str,
        next_try: str,
        author: str,
    ) -> None:
        self.target_kind = target_kind
        self.target_id = target_id
        self.stage_index = stage_index
        self.tried = tried
        self.next_try = next_try
        self.author = author

    @classmethod
    def give(
        cls,
        target_kind: str,
        target_id: UUID,
        stage_index: int | None,
        tried: str,
        next_try: str,
        author: str,
    ) -> Feedback:
        if target_kind not in FEEDBACK_TARGETS:
            raise InvalidInput(
                f"feedback is given on {' or '.join(FEEDBACK_TARGETS)}, not {target_kind!r}"
            )
        tried = text(tried, "what was tried", limit=MAX_TEXT, required=False)
        next_try = text(next_try, "what could be tried next", limit=MAX_TEXT, required=False)
        if not tried and not next_try:
            raise InvalidInput("feedback needs what was tried or what could be tried next")
        author = text(author, "the feedback's author (a pseudonym or a curator's name)", limit=200)
        if stage_index is not None and stage_index < 0:
            raise InvalidInput("a stage index is 0 or more")
        return cls(target_kind, target_id, stage_index, tried, next_try, author)
