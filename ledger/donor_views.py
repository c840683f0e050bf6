"""Read models of what donors and their audience see: consent status, feedback, certificates.

Like `ledger.views`, frozen msgspec Structs for every front end (the API's OpenAPI schemas are
derived from them). None of them carries personal data.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ledger.views import ConsentChangeRead, HeadRead, View


class ConsentStatusRead(View, frozen=True, kw_only=True):
    """Whether each purpose holds now, and every change since the donation was made."""

    donation_id: str
    consents: dict[str, bool]
    withdrawn: bool
    history: list[ConsentChangeRead]


class ConsentChangedRead(View, frozen=True, kw_only=True):
    """The answer to a grant or revoke: `changed` is False when it already was so (nothing
    recorded), and `consents` is the status after the change."""

    donation_id: str
    purpose: str
    granted: bool
    changed: bool
    consents: dict[str, bool]


class ConsentAtRead(View, frozen=True, kw_only=True):
    """Did consent for `purpose` hold at `at`? Answered by replaying the donation's events."""

    donation_id: str
    purpose: str
    at: str
    granted: bool


class FeedbackRead(View, frozen=True, kw_only=True):
    """Process-centred feedback on a stage: what was tried there, what could be tried next."""

    feedback_id: str
    target_kind: str
    target_id: str
    stage_index: int | None
    tried: str
    next_try: str
    author: str
    given_at: str


class ErasureCertificateRead(View, frozen=True, kw_only=True):
    """The certificate of a completed erasure, as `museum ledger check-certificate` reads it:
    the tree head is a signed head of the log that holds the erasure's events."""

    artist_id: str
    requested_at: str | None
    deadline: str | None
    donations_withdrawn: list[str]
    key_shredded: bool
    retraining_runs: list[str]
    tree_head: HeadRead


def certificate_read(certificate: dict[str, Any]) -> ErasureCertificateRead:
    return msgspec.convert(certificate, ErasureCertificateRead)
