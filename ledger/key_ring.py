"""The key ring: every generation of the museum's keys, so that a log written under several
master keys verifies as one log.

The current generation's keys are derived from the master key the process holds. Each earlier
generation keeps its leaf-MAC key and pseudonym-index key wrapped by the *current* master key
(re-wrapped at each rotation), and its public tree-head key in clear, so any verifier of a head
or checkpoint finds the key by its id. A rotation statement, signed by the outgoing and the
incoming tree-head key, links each generation to the one before it.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.crypto import MasterKey, index_token
from ledger.errors import IntegrityViolation, NotFound
from ledger.sealing import LeafSealer
from ledger.views import SigningKeyRead

ROTATION_FORMAT = b"failure-museum-key-rotation/v1\n"
MAC_PURPOSE = "leaf-mac"
INDEX_PURPOSE = "pseudonym-index"


def wrap_context(generation: int, purpose: str) -> bytes:
    """Associated data of an earlier generation's wrapped key: which generation, which key."""
    return f"key-ring/{generation}/{purpose}".encode()


@dataclass(frozen=True)
class KeyGeneration:
    """One generation of keys. `first_notification_id` is the first event sealed under it
    (0 for the museum's first generation; the rotation's own events for a later one)."""

    generation: int
    key_id: str
    public_key: bytes
    first_notification_id: int
    leaf_mac_key: bytes
    index_key: bytes
    rotated_at_ms: int | None = None
    statement: bytes | None = None
    old_signature: bytes | None = None
    new_signature: bytes | None = None

    @classmethod
    def of(cls, master: MasterKey, generation: int, first_notification_id: int) -> KeyGeneration:
        return cls(
            generation,
            master.key_id,
            master.public_key_bytes,
            first_notification_id,
            master.leaf_mac_key,
            master.index_key,
        )

    @property
    def verifying_key(self) -> Ed25519PublicKey:
        return Ed25519PublicKey.from_public_bytes(self.public_key)


def rotation_statement(
    generation: int,
    old: KeyGeneration,
    new_key_id: str,
    new_public_key: bytes,
    last_old_head: dict[str, Any] | None,
    rotated_at_ms: int,
) -> bytes:
    """The bytes both keys sign: from which key to which, after which head of the old key."""
    body = {
        "generation": generation,
        "old_key_id": old.key_id,
        "old_public_key": old.public_key.hex(),
        "new_key_id": new_key_id,
        "new_public_key": new_public_key.hex(),
        "last_old_head": last_old_head,
        "rotated_at_ms": rotated_at_ms,
    }
    return ROTATION_FORMAT + json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def statement_body(statement: bytes) -> dict[str, Any]:
    if not statement.startswith(ROTATION_FORMAT):
        raise IntegrityViolation("a key rotation statement is not in the rotation format")
    try:
        body = json.loads(statement[len(ROTATION_FORMAT) :])
    except ValueError:
        raise IntegrityViolation("a key rotation statement is not JSON") from None
    if not isinstance(body, dict):
        raise IntegrityViolation("a key rotation statement is not a JSON object")
    return body


class KeyRing:
    """The generations, oldest first; the last one is the master key's own."""

    def __init__(self, generations: Sequence[KeyGeneration]) -> None:
        if not generations:
            raise ValueError("a key ring holds at least one generation")
        self.generations = list(generations)
        self._starts = [g.first_notification_id for g in self.generations]
        self._by_key = {g.key_id: g for g in self.generations}

    @classmethod
    def single(cls, master: MasterKey) -> KeyRing:
        """A museum never rotated: one generation, the master key's."""
        return cls([KeyGeneration.of(master, 0, 0)])

    @property
    def current(self) -> KeyGeneration:
        return self.generations[-1]

    @property
    def generation(self) -> int:
        return self.current.generation

    def sealer(self) -> LeafSealer:
        """Checks every leaf under its generation's MAC key; seals new ones under the current."""
        return LeafSealer(
            self.current.leaf_mac_key,
            self.current.generation,
            self.current.first_notification_id,
            [(g.first_notification_id, g.leaf_mac_key) for g in self.generations[:-1]],
        )

    def generation_at(self, notification_id: int) -> int:
        """The generation whose keys sealed the event of that notification id."""
        index = max(bisect.bisect_right(self._starts, notification_id) - 1, 0)
        return self.generations[index].generation

    def find(self, key_id: str) -> KeyGeneration | None:
        return self._by_key.get(key_id)

    def public_key(self, key_id: str) -> Ed25519PublicKey:
        """The tree-head key of that id, current or retired (NotFound for a stranger's)."""
        found = self._by_key.get(key_id)
        if found is None:
            raise NotFound(f"key {key_id!r} is none of the museum's tree-head keys")
        return found.verifying_key

    def index_tokens(self, text: str) -> list[str]:
        """The uniqueness tokens of `text` under every generation, the current one first."""
        return [index_token(g.index_key, text) for g in reversed(self.generations)]

    def check_chain(self) -> None:
        """Each rotation statement names the keys of the generations it links and carries
        valid signatures of both; raises IntegrityViolation naming the first that does not."""
        for old, new in zip(self.generations, self.generations[1:], strict=False):
            where = f"the rotation to key generation {new.generation}"
            if new.statement is None or new.old_signature is None or new.new_signature is None:
                raise IntegrityViolation(f"{where} has no signed statement")
            body = statement_body(new.statement)
            expected = {
                "generation": new.generation,
                "old_key_id": old.key_id,
                "old_public_key": old.public_key.hex(),
                "new_key_id": new.key_id,
                "new_public_key": new.public_key.hex(),
            }
            if any(body.get(name) != value for name, value in expected.items()):
                raise IntegrityViolation(f"{where}: its statement names other keys than the ring")
            for signer, signature, role in (
                (old, new.old_signature, "outgoing"),
                (new, new.new_signature, "incoming"),
            ):
                try:
                    signer.verifying_key.verify(signature, new.statement)
                except InvalidSignature:
                    raise IntegrityViolation(
                        f"{where}: the {role} key's signature of the statement does not verify"
                    ) from None


def signing_key_reads(ring: KeyRing) -> list[SigningKeyRead]:
    """The ring's public side: what verifies a head of each generation."""
    last = ring.current.generation
    return [
        SigningKeyRead(
            generation=g.generation,
            key_id=g.key_id,
            public_key=g.public_key.hex(),
            first_notification_id=g.first_notification_id,
            rotated_at_ms=g.rotated_at_ms,
            current=g.generation == last,
        )
        for g in ring.generations
    ]
