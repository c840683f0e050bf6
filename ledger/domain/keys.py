"""The history of the museum's master key: one record, one event per rotation."""

from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.domain.artist import MUSEUM_NAMESPACE
from ledger.errors import Conflict


class KeyHistory(Aggregate):
    """Each `KeysRotated` carries the rotation statement (old and new public tree-head key, the
    last head the old key signed) and its signatures by both keys; verify checks them."""

    HISTORY_ID = uuid5(MUSEUM_NAMESPACE, "key-history")

    @staticmethod
    def create_id() -> UUID:
        return KeyHistory.HISTORY_ID

    @event("KeyHistoryOpened")
    def __init__(self) -> None:
        self.generation = 0

    def check_next(self, generation: int) -> None:
        if generation != self.generation + 1:
            raise Conflict(
                f"the key history stands at generation {self.generation}; "
                f"generation {generation} cannot follow it"
            )

    def rotate(
        self, generation: int, statement: str, old_signature: str, new_signature: str
    ) -> None:
        self.check_next(generation)
        self._rotated(
            generation=generation,
            statement=statement,
            old_signature=old_signature,
            new_signature=new_signature,
        )

    @event("KeysRotated")
    def _rotated(
        self, generation: int, statement: str, old_signature: str, new_signature: str
    ) -> None:
        self.generation = generation
