"""RFC 6962 / RFC 9162 Merkle tree hashing over SHA-256.

The museum's event log is tamper-evident because every signed tree head commits to all
events before it: inclusion proofs show one event is in the log, consistency proofs show
a later log only appends to an earlier one. Leaves are already-computed leaf hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from ledger.errors import ProofError

__all__ = [
    "EMPTY_ROOT",
    "LEAF_PREFIX",
    "NODE_PREFIX",
    "Frontier",
    "consistency_proof",
    "inclusion_proof",
    "inclusion_proofs",
    "leaf_hash",
    "node_hash",
    "root",
    "verify_consistency",
    "verify_inclusion",
]

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()

_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    """Hash of one log entry: SHA-256(0x00 || data)."""
    return _sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash of an interior node: SHA-256(0x01 || left || right)."""
    return _sha256(NODE_PREFIX + left + right).digest()


def root(leaves: Sequence[bytes]) -> bytes:
    """Merkle tree hash (MTH) of the given leaf hashes, computed level by level in O(n).

    Pairing neighbours and promoting an odd last node unchanged builds exactly the RFC 6962
    tree, whose left subtree is always the largest power of two below the size.
    """
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    while len(level) > 1:
        odd = level.pop() if len(level) % 2 else None
        pairs = zip(level[0::2], level[1::2], strict=True)
        level = [_sha256(NODE_PREFIX + a + b).digest() for a, b in pairs]
        if odd is not None:
            level.append(odd)
    return level[0]


class Frontier:
    """Compact range of a growing tree: append leaf hashes one by one, get the root any time.

    Keeps one perfect-subtree root per set bit of the size, so it needs O(log n) memory.
    """

    def __init__(self) -> None:
        self._size = 0
        self._nodes: list[bytes] = []  # perfect-subtree roots, largest (leftmost) first

    def append(self, leaf: bytes) -> None:
        """Add the next leaf hash, merging completed subtrees (amortised O(1))."""
        node, n = leaf, self._size
        while n & 1:
            node = node_hash(self._nodes.pop(), node)
            n >>= 1
        self._nodes.append(node)
        self._size += 1

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    def root(self) -> bytes:
        """Merkle tree hash of all leaves appended so far, in O(log n)."""
        if not self._nodes:
            return EMPTY_ROOT
        acc = self._nodes[-1]
        for node in reversed(self._nodes[:-1]):
            acc = node_hash(node, acc)
        return acc


def _split(n: int) -> int:
    """Largest power of two strictly less than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_size(leaves: Sequence[bytes], size: int, what: str) -> None:
    if size < 0:
        raise ProofError(f"{what} must not be negative, got {size}")
    if size > len(leaves):
        raise ProofError(f"{what} {size} exceeds the {len(leaves)} leaves available")


def inclusion_proof(leaves: Sequence[bytes], index: int, size: int) -> list[bytes]:
    """Audit path (RFC 6962 2.1.1 PATH) for leaves[index] in the tree of the first size leaves."""
    _check_size(leaves, size, "tree size")
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    siblings: list[bytes] = []  # collected root-first; the proof is leaf-first
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            siblings.append(root(leaves[lo + k : hi]))
            hi = lo + k
        else:
            siblings.append(root(leaves[lo : lo + k]))
            lo += k
    siblings.reverse()
    return siblings


def inclusion_proofs(
    leaves: Sequence[bytes], indices: Sequence[int], size: int
) -> list[list[bytes]]:
    """The audit paths of many leaves in one tree, in the order of `indices`: each is exactly
    `inclusion_proof`'s, but the tree's levels are hashed once (O(size)) and every path is then
    read off them (O(log size)), where one `inclusion_proof` alone re-hashes O(size).

    The levels pair neighbours and promote an odd last node unchanged, as `root` does; a node's
    sibling is its neighbour on the same level, and a promoted node has none at that level.
    """
    _check_size(leaves, size, "tree size")
    for index in indices:
        if not 0 <= index < size:
            raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    levels = [list(leaves[:size])]
    while len(levels[-1]) > 1:
        level = levels[-1]
        pairs = zip(level[0::2], level[1::2], strict=False)
        parents = [_sha256(NODE_PREFIX + a + b).digest() for a, b in pairs]
        if len(level) % 2:
            parents.append(level[-1])
        levels.append(parents)
    proofs: list[list[bytes]] = []
    for index in indices:
        path: list[bytes] = []
        for level in levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):
                path.append(level[sibling])
            index >>= 1
        proofs.append(path)
    return proofs


def consistency_proof(leaves: Sequence[bytes], old_size: int, new_size: int) -> list[bytes]:
    """Consistency proof (RFC 6962 2.1.2 PROOF) between the trees of old_size and new_size.

    Empty when old_size is 0 or equals new_size.
    """
    _check_size(leaves, new_size, "new tree size")
    if not 0 <= old_size <= new_size:
        raise ProofError(f"old tree size {old_size} must lie between 0 and {new_size}")
    if old_size in (0, new_size):
        return []
    siblings: list[bytes] = []  # collected root-first
    lo, hi, complete = 0, new_size, True
    while hi != old_size:
        k = _split(hi - lo)
        if old_size - lo <= k:
            siblings.append(root(leaves[lo + k : hi]))
            hi = lo + k
        else:
            siblings.append(root(leaves[lo : lo + k]))
            lo += k
            complete = False
    proof = [] if complete else [root(leaves[lo:hi])]
    proof.extend(reversed(siblings))
    return proof


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes
) -> None:
    """Check an audit path (RFC 9162 2.1.3.2); raise ProofError unless it proves inclusion."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree is deep")
    if r != expected_root:
        raise ProofError(f"inclusion proof for leaf {index} does not match the tree root")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check a consistency proof (RFC 9162 2.1.4.2); raise ProofError unless it holds."""
    if not 0 <= old_size <= new_size:
        raise ProofError(f"old tree size {old_size} must lie between 0 and {new_size}")
    if old_size == 0 or old_size == new_size:
        if proof:
            raise ProofError("consistency proof must be empty for these sizes")
        expected = EMPTY_ROOT if old_size == 0 else new_root
        if old_root != expected:
            raise ProofError("old root does not match the tree it claims to be")
        return
    if not proof:
        raise ProofError("consistency proof is empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # exact power of two: the old root is a node itself
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than the tree is deep")
    if fr != old_root:
        raise ProofError("consistency proof does not match the old root")
    if sr != new_root:
        raise ProofError("consistency proof does not match the new root")
