"""A witness (c2sp.org/tlog-witness): cosigns a log's checkpoint only when it is consistent
with the last one it cosigned for that origin, so no log can show two histories unnoticed.

`add-checkpoint` bodies are `old N`, up to 63 base64 consistency-proof lines, a blank line,
then the checkpoint. Refusals carry the status the spec assigns: 400 malformed, 403 no trusted
signature, 404 unknown origin, 409 an old size that is not the witness's (body: its size, as
`text/x.tlog.size`) or the same size with another root, 422 a proof that does not verify.
The decision is pure; the state it reads and writes atomically is `WitnessStateStore`'s.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from ledger import merkle
from ledger.checkpoint import Checkpoint, open_checkpoint
from ledger.cosignature import Cosigner
from ledger.errors import LedgerError, ProofError
from ledger.signed_note import NoteVerifier, parse_note

MAX_PROOF_LINES = 63
MAX_BODY_BYTES = 1 << 16
SIZE_TYPE = "text/x.tlog.size"
_OLD = re.compile(r"old (0|[1-9][0-9]{0,18})")


class WitnessRefusal(LedgerError):
    """The witness does not cosign; `status` is the HTTP status the spec gives the reason."""

    def __init__(
        self, status: int, message: str, body: str | None = None, content_type: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = body if body is not None else message + "\n"
        self.content_type = content_type or "text/plain; charset=utf-8"


@dataclass(frozen=True)
class AddCheckpoint:
    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: str

    def render(self) -> bytes:
        lines = [f"old {self.old_size}"]
        lines += [base64.b64encode(node).decode("ascii") for node in self.proof]
        return ("\n".join(lines) + "\n\n" + self.checkpoint).encode()

    @classmethod
    def parse(cls, body: bytes) -> AddCheckpoint:
        if len(body) > MAX_BODY_BYTES:
            raise WitnessRefusal(400, f"an add-checkpoint body is at most {MAX_BODY_BYTES} bytes")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise WitnessRefusal(400, "the body is not UTF-8") from None
        head, sep, checkpoint = text.partition("\n\n")
        lines = head.split("\n")
        match = _OLD.fullmatch(lines[0])
        if not sep or match is None:
            raise WitnessRefusal(400, "the body starts with `old N`, proof lines and a blank line")
        if len(lines) - 1 > MAX_PROOF_LINES:
            raise WitnessRefusal(400, f"at most {MAX_PROOF_LINES} consistency proof lines")
        try:
            proof = tuple(base64.b64decode(line, validate=True) for line in lines[1:])
        except binascii.Error:
            raise WitnessRefusal(400, "a consistency proof line is not base64") from None
        if any(len(node) != 32 for node in proof):
            raise WitnessRefusal(400, "a consistency proof hash is 32 bytes")
        return cls(int(match.group(1)), proof, checkpoint)


@dataclass(frozen=True)
class Cosigned:
    """What the witness last cosigned for an origin."""

    size: int
    root_hash: bytes
    checkpoint: str


class WitnessStateStore(Protocol):
    def update(
        self, origin: str, decide: Callable[[Cosigned | None], Cosigned]
    ) -> AbstractContextManager[Cosigned]: ...

    def record_conflict(self, origin: str, evidence: str, reason: str) -> None: ...


class Witness:
    def __init__(
        self,
        cosigner: Cosigner,
        logs: Sequence[NoteVerifier],
        state: WitnessStateStore,
        clock: Callable[[], float],
    ) -> None:
        self.cosigner = cosigner
        # Keys by origin: a log rolling its key over is trusted under both for a while.
        by_origin: dict[str, list[NoteVerifier]] = {}
        for log in logs:
            by_origin.setdefault(log.name, []).append(log)
        self.logs: Mapping[str, list[NoteVerifier]] = by_origin
        self.state = state
        self.clock = clock

    def add_checkpoint(self, body: bytes) -> str:
        """The cosignature line(s) for an accepted checkpoint; WitnessRefusal otherwise."""
        request = AddCheckpoint.parse(body)
        try:
            parsed = parse_note(request.checkpoint)
            checkpoint = Checkpoint.parse(parsed.text)
        except ProofError as exc:
            raise WitnessRefusal(400, f"malformed checkpoint: {exc}") from None
        keys = self.logs.get(checkpoint.origin)
        if not keys:
            raise WitnessRefusal(404, f"unknown log origin {checkpoint.origin!r}")
        signed_by = [key for key in keys if any(key.matches(sig) for sig in parsed.signatures)]
        if not signed_by:
            raise WitnessRefusal(403, f"no signature by a trusted key of {checkpoint.origin}")
        for key in signed_by:
            try:
                open_checkpoint(request.checkpoint, key)
            except ProofError as exc:
                raise WitnessRefusal(403, f"a trusted key's signature fails: {exc}") from None
        if request.old_size > checkpoint.size:
            raise WitnessRefusal(400, f"old size {request.old_size} exceeds {checkpoint.size}")

        def decide(latest: Cosigned | None) -> Cosigned:
            return self._decide(latest, request, checkpoint)

        try:
            with self.state.update(checkpoint.origin, decide):
                timestamp = int(self.clock())
                line = self.cosigner.cosign(parsed.text, timestamp).line()
        except WitnessRefusal as refusal:
            if refusal.status == 409 and refusal.content_type != SIZE_TYPE:
                self.state.record_conflict(checkpoint.origin, request.checkpoint, str(refusal))
            if refusal.status == 422:
                self.state.record_conflict(checkpoint.origin, body.decode(), str(refusal))
            raise
        return line

    @staticmethod
    def _decide(latest: Cosigned | None, request: AddCheckpoint, new: Checkpoint) -> Cosigned:
        size = latest.size if latest else 0
        root = latest.root_hash if latest else merkle.EMPTY_ROOT
        if request.old_size != size:
            raise WitnessRefusal(
                409,
                f"the latest checkpoint cosigned is of size {size}, not {request.old_size}",
                f"{size}\n",
                SIZE_TYPE,
            )
        if request.old_size == new.size:
            if new.root_hash != root:
                raise WitnessRefusal(
                    409,
                    f"split view: a checkpoint of size {new.size} with another root than the "
                    f"one cosigned ({base64.b64encode(root).decode()}); refused and recorded",
                )
        elif request.old_size == 0:
            if request.proof:
                raise WitnessRefusal(422, "the consistency proof from size 0 must be empty")
        else:
            try:
                merkle.verify_consistency(size, new.size, root, new.root_hash, request.proof)
            except ProofError as exc:
                raise WitnessRefusal(
                    422, f"the consistency proof from size {size} does not verify: {exc}"
                ) from None
        return Cosigned(new.size, new.root_hash, request.checkpoint)
