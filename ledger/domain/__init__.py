"""Aggregates of the museum. Pure: no I/O, no keys; they receive already-sealed text."""

from ledger.domain.artist import Artist, FoundingRoll, PseudonymClaim
from ledger.domain.donation import Donation, Stage
from ledger.domain.feedback import Feedback
from ledger.domain.keys import KeyHistory
from ledger.domain.model import Generation, ModelRegistry, TrainingRun

__all__ = [
    "Artist",
    "Donation",
    "Feedback",
    "FoundingRoll",
    "Generation",
    "KeyHistory",
    "ModelRegistry",
    "PseudonymClaim",
    "Stage",
    "TrainingRun",
]
