"""Domain errors. Every refusal the ledger makes is one of these, with a message a person can act on."""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every error the ledger raises on purpose."""


class InvalidInput(LedgerError, ValueError):
    """The request is malformed or breaks a museum rule; nothing was stored."""


class InvalidImage(InvalidInput):
    """A stage image does not decode or exceeds the size / pixel limits."""


class MissingAttestation(InvalidInput):
    """A donation arrived without the donor's rights attestation."""


class UnknownVocabulary(InvalidInput):
    """A controlled-vocabulary value (role, failure type, emotion, purpose) is unknown."""


class NotFound(LedgerError, LookupError):
    """No artist, donation or event with that id."""


class Conflict(LedgerError):
    """The request contradicts the ledger's current state (e.g. erased donation, taken pseudonym)."""


class ErasedError(Conflict):
    """The artist or donation has been erased; its consents can no longer change."""


class KeyShredded(LedgerError):
    """The artist's data key was destroyed: their encrypted bytes are gone for good."""


class ConfigurationError(LedgerError):
    """Settings are missing or inconsistent (e.g. no master key for PostgreSQL)."""


class IntegrityViolation(LedgerError):
    """The stored log does not match its leaves or signed heads."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


class ProofError(LedgerError):
    """A Merkle proof or signed tree head does not verify."""
