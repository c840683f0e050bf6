"""Domain errors. Every refusal the ledger makes is one of these, with a message a person can act on.

Each class carries the exit code the `museum` command ends with and the HTTP status the API
answers with, so both front ends map a refusal the same way (README, "Exit codes"):

| code | class | HTTP |
|---|---|---|
| 1 | `IntegrityViolation`, `ProofError`, `CredentialsNotTrusted`: a log, proof or image fails | 409 / 422 |
| 2 | `InvalidInput` (and usage errors of the command line) | 422 |
| 3 | `NotFound` | 404 |
| 4 | `Conflict`: the request contradicts the ledger's state, or kept colliding with another | 409 |
| 5 | `ErasedError`, `KeyShredded`: the artist or their content is erased | 410 |
| 6 | `ConfigurationError`: a setting is wrong, or a configured service cannot be reached | 503 |
| 7 | `FileProblem`: a file named on the command line cannot be read or written | 422 |
| 70 | anything unexpected (a bug): one line, and the full report written to a file | 500 |
| 130 | interrupted | |
"""

from __future__ import annotations

from typing import ClassVar


class LedgerError(Exception):
    """Base of every error the ledger raises on purpose."""

    exit_code: ClassVar[int] = 2
    http_status: ClassVar[int] = 422


class InvalidInput(LedgerError, ValueError):
    """The request is malformed or breaks a museum rule; nothing was stored."""


class InvalidImage(InvalidInput):
    """A stage image does not decode or exceeds the size / pixel limits."""


class MissingAttestation(InvalidInput):
    """A donation arrived without the donor's rights attestation."""


class UnknownVocabulary(InvalidInput):
    """A controlled-vocabulary value (role, failure type, emotion, purpose) is unknown."""


class FileProblem(InvalidInput):
    """A file given by the caller cannot be read, parsed or written; nothing was stored."""

    exit_code = 7


class NotFound(LedgerError, LookupError):
    """No artist, donation or event with that id."""

    exit_code = 3
    http_status = 404


class Conflict(LedgerError):
    """The request contradicts the ledger's current state (e.g. erased donation, taken pseudonym)."""

    exit_code = 4
    http_status = 409


class ErasedError(Conflict):
    """The artist or donation has been erased; its consents can no longer change."""

    exit_code = 5
    http_status = 410


class KeyShredded(LedgerError):
    """The artist's data key was destroyed: their encrypted bytes are gone for good."""

    exit_code = 5
    http_status = 410


class ConfigurationError(LedgerError):
    """Settings are missing or inconsistent (e.g. no master key for PostgreSQL), or a configured
    service (database, queue) cannot be reached."""

    exit_code = 6
    http_status = 503


class IntegrityViolation(LedgerError):
    """The stored log does not match its leaves or signed heads."""

    exit_code = 1
    http_status = 409

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


class ProofError(LedgerError):
    """A Merkle proof or signed tree head does not verify."""

    exit_code = 1
    http_status = 422


class CredentialsNotTrusted(LedgerError):
    """An image's content credentials (C2PA) are missing, tampered, invalid or not signed by a
    key a trusted root vouches for."""

    exit_code = 1
    http_status = 422
