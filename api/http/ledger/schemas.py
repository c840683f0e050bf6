"""HTTP-only views of the verifiable log."""

from __future__ import annotations

from ledger.views import HeadRead


class LedgerHeadRead(HeadRead, frozen=True, kw_only=True):
    """A signed tree head and the public key that checks it (as `museum ledger head --json`).
    Fetch the key once and keep it: a verifier should trust its own copy, not each answer's."""

    public_key: str
