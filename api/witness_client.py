"""The museum's side of tlog-witness: send the current checkpoint with a consistency proof
from what each witness last cosigned, check the cosignature it returns, and keep it.

A witness answers a stale old size with its own (409, `text/x.tlog.size`); the client then
proves consistency from there, once. A witness that holds a larger tree than ours, or that
refuses, is named in the error: the museum publishes nothing it did not verify.
"""

from __future__ import annotations

import httpx

from ledger.checkpoint import Checkpoint
from ledger.cosignature import CosignatureVerifier
from ledger.errors import ConfigurationError, Conflict, ProofError
from ledger.publication import LogPublication
from ledger.signed_note import SignedNote, parse_note
from ledger.views import CosignatureRead
from ledger.witness import SIZE_TYPE, AddCheckpoint


def request_cosignature(
    publication: LogPublication,
    url: str,
    witness: CosignatureVerifier,
    client: httpx.Client,
    note: SignedNote | None = None,
) -> CosignatureRead:
    """Have the witness at `url` cosign `note` (default: the current checkpoint); store it."""
    note = note or publication.checkpoint()
    checkpoint = Checkpoint.parse(note.text)
    old = publication.cosignatures.latest_size_by(witness.name) or 0
    if old > checkpoint.size:
        old = 0
    own = publication.signer.sign(checkpoint.size, checkpoint.root_hash).render()
    for _ in range(2):
        proof = tuple(publication.consistency(old, checkpoint.size)) if old else ()
        body = AddCheckpoint(old, proof, own).render()
        try:
            answer = client.post(url.rstrip("/") + "/add-checkpoint", content=body)
        except httpx.HTTPError as exc:
            raise ConfigurationError(f"witness {url} cannot be reached: {exc}") from None
        stale = answer.status_code == 409 and answer.headers.get("content-type", "").startswith(
            SIZE_TYPE
        )
        if not stale:
            break
        old = _size(answer.text, url)
        if old > checkpoint.size:
            raise Conflict(
                f"witness {url} has cosigned a tree of {old} entries, larger than ours "
                f"({checkpoint.size}): it saw another history of this log"
            )
    if answer.status_code != 200:
        raise Conflict(f"witness {url} refused ({answer.status_code}): {_detail(answer)}")
    cosigned = parse_note(note.text + "\n" + answer.text)
    for sig in cosigned.signatures:
        if witness.matches(sig):
            timestamp = witness.timestamp(note.text, sig)
            if timestamp is None:
                raise ProofError(f"the cosignature of witness {witness.name} does not verify")
            publication.record_cosignature(checkpoint, sig)
            return CosignatureRead(
                witness=witness.name,
                tree_size=checkpoint.size,
                timestamp=timestamp,
                line=sig.line().rstrip("\n"),
            )
    raise ProofError(f"witness {url} answered without a cosignature by {witness.name}")


def _size(text: str, url: str) -> int:
    line = text.strip()
    if not line.isdigit():
        raise ProofError(f"witness {url} answered 409 without its tree size")
    return int(line)


def _detail(answer: httpx.Response) -> str:
    try:
        return str(answer.json().get("detail", answer.text))[:300]
    except ValueError:
        return answer.text[:300]
