"""Property tests for ledger.merkle against a naive recomputation of RFC 6962 section 2.1."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.errors import ProofError
from ledger.merkle import (
    EMPTY_ROOT,
    LEAF_PREFIX,
    NODE_PREFIX,
    Frontier,
    consistency_proof,
    inclusion_proof,
    inclusion_proofs,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

MAX_SIZE = 300
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- Reference: the recursive definitions of RFC 6962 2.1, written as plainly as possible. ---


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    """Largest power of two strictly smaller than n."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: list[bytes]) -> bytes:
    if len(d) == 0:
        return _sha(b"")
    if len(d) == 1:
        return d[0]  # the inputs are already leaf hashes
    k = _k(len(d))
    return _sha(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:]))


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [ref_mth(d)]
    k = _k(len(d))
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def ref_proof(m: int, d: list[bytes]) -> list[bytes]:
    return ref_subproof(m, d, True)


def make_leaves(n: int, salt: bytes = b"") -> list[bytes]:
    """n distinct leaf hashes, computed with hashlib directly."""
    return [_sha(b"\x00" + salt + i.to_bytes(4, "big")) for i in range(n)]


def flip(proof: list[bytes], element: int, byte: int, mask: int) -> list[bytes]:
    element %= len(proof)
    target = bytearray(proof[element])
    target[byte % len(target)] ^= mask
    return [*proof[:element], bytes(target), *proof[element + 1 :]]


salts = st.binary(max_size=8)


@st.composite
def tree_and_index(draw: st.DrawFn) -> tuple[list[bytes], int, int]:
    n = draw(st.integers(1, MAX_SIZE))
    leaves = make_leaves(n, draw(salts))
    size = draw(st.integers(1, n))
    return leaves, draw(st.integers(0, size - 1)), size


@st.composite
def tree_and_sizes(draw: st.DrawFn) -> tuple[list[bytes], int, int]:
    n = draw(st.integers(1, MAX_SIZE))
    leaves = make_leaves(n, draw(salts))
    new = draw(st.integers(1, n))
    return leaves, draw(st.integers(1, new)), new


# --- Known answers. ---


def test_empty_root() -> None:
    sha256_of_nothing = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert EMPTY_ROOT.hex() == sha256_of_nothing
    assert root([]) == EMPTY_ROOT
    assert Frontier().root() == EMPTY_ROOT
    assert Frontier().size == 0


def test_prefixes_and_small_trees() -> None:
    assert (LEAF_PREFIX, NODE_PREFIX) == (b"\x00", b"\x01")
    a = leaf_hash("failed soufflé".encode())
    b = leaf_hash(b"")
    assert a == hashlib.sha256(b"\x00" + "failed soufflé".encode()).digest()
    assert b == bytes.fromhex("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    assert root([a]) == a
    assert node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()
    assert root([a, b]) == node_hash(a, b)
    assert root([a, b, a]) == node_hash(node_hash(a, b), a)


# Certificate Transparency's reference test vectors (RFC 6962 implementation test data).
CT_INPUTS = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657"]
CT_INPUTS.append("606162636465666768696a6b6c6d6e6f")
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


@pytest.mark.parametrize("size", range(1, 9))
def test_ct_vectors(size: int) -> None:
    leaves = [leaf_hash(bytes.fromhex(x)) for x in CT_INPUTS]
    assert root(leaves[:size]).hex() == CT_ROOTS[size - 1]


# --- Roots. ---


@SETTINGS
@given(st.integers(0, MAX_SIZE), salts)
def test_root_matches_reference(n: int, salt: bytes) -> None:
    leaves = make_leaves(n, salt)
    assert root(leaves) == ref_mth(leaves)
    assert root(tuple(leaves)) == ref_mth(leaves)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, MAX_SIZE), salts)
def test_frontier_matches_root_after_every_append(n: int, salt: bytes) -> None:
    leaves = make_leaves(n, salt)
    frontier = Frontier()
    for i, leaf in enumerate(leaves):
        frontier.append(leaf)
        assert frontier.size == i + 1
        assert frontier.root() == root(leaves[: i + 1])


def test_large_tree_root_matches_frontier() -> None:
    leaves = make_leaves(100_003)
    frontier = Frontier()
    for leaf in leaves:
        frontier.append(leaf)
    assert frontier.root() == root(leaves)


# --- Inclusion proofs. ---


@pytest.mark.parametrize("size", range(1, 34))
def test_inclusion_exhaustive_small(size: int) -> None:
    leaves = make_leaves(size + 3)  # extra leaves beyond size must be ignored
    expected_root = ref_mth(leaves[:size])
    for index in range(size):
        proof = inclusion_proof(leaves, index, size)
        assert proof == ref_path(index, leaves[:size])
        verify_inclusion(leaves[index], index, size, proof, expected_root)


@pytest.mark.parametrize("size", range(1, 34))
def test_batched_inclusion_proofs_equal_the_single_ones(size: int) -> None:
    leaves = make_leaves(size + 3)  # extra leaves beyond size must be ignored
    indices = [*range(size - 1, -1, -1), 0]  # any order, repeats allowed
    assert inclusion_proofs(leaves, indices, size) == [
        ref_path(index, leaves[:size]) for index in indices
    ]


def test_batched_inclusion_proofs_refuse_an_index_outside_the_tree() -> None:
    assert inclusion_proofs(make_leaves(3), [], 3) == []
    with pytest.raises(ProofError, match="outside a tree of size 3"):
        inclusion_proofs(make_leaves(3), [0, 3], 3)
    with pytest.raises(ProofError, match="exceeds the 3 leaves"):
        inclusion_proofs(make_leaves(3), [0], 4)


@SETTINGS
@given(tree_and_index())
def test_inclusion_matches_reference_and_verifies(case: tuple[list[bytes], int, int]) -> None:
    leaves, index, size = case
    proof = inclusion_proof(leaves, index, size)
    assert proof == ref_path(index, leaves[:size])
    verify_inclusion(leaves[index], index, size, proof, ref_mth(leaves[:size]))


@SETTINGS
@given(
    tree_and_index(),
    st.integers(0, 10**6),
    st.integers(0, 31),
    st.integers(1, 255),
    st.binary(min_size=32, max_size=32),
)
def test_inclusion_tampering_is_rejected(
    case: tuple[list[bytes], int, int], element: int, byte: int, mask: int, extra: bytes
) -> None:
    leaves, index, size = case
    proof = inclusion_proof(leaves, index, size)
    good_root = root(leaves[:size])
    leaf = leaves[index]

    def rejected(leaf: bytes, index: int, size: int, proof: list[bytes], root_: bytes) -> None:
        with pytest.raises(ProofError):
            verify_inclusion(leaf, index, size, proof, root_)

    if proof:
        rejected(leaf, index, size, flip(proof, element, byte, mask), good_root)
        rejected(leaf, index, size, proof[:-1], good_root)
        rejected(leaf, index, size, proof[1:], good_root)
    rejected(leaf, index, size, [*proof, extra], good_root)
    rejected(leaf, index, size, [extra, *proof], good_root)
    rejected(flip([leaf], 0, byte, mask)[0], index, size, proof, good_root)
    rejected(leaf, index, size, proof, flip([good_root], 0, byte, mask)[0])
    rejected(leaf, index, size, proof, EMPTY_ROOT)
    for other in {0, index - 1, index + 1, size - 1} - {index}:
        if 0 <= other < size:
            rejected(leaf, other, size, proof, good_root)
            rejected(leaves[other], other, size, proof, good_root)
            rejected(leaves[other], index, size, proof, good_root)
    for other_size in {index + 1, size - 1, size + 1, len(leaves)} - {size}:
        if index < other_size <= len(leaves):
            rejected(leaf, index, other_size, proof, root(leaves[:other_size]))
    rejected(leaf, index, index, proof, good_root)
    rejected(leaf, -1, size, proof, good_root)


# --- Consistency proofs. ---


@pytest.mark.parametrize("new_size", range(1, 34))
def test_consistency_exhaustive_small(new_size: int) -> None:
    leaves = make_leaves(new_size + 3)
    new_root = ref_mth(leaves[:new_size])
    for old_size in range(1, new_size + 1):
        proof = consistency_proof(leaves, old_size, new_size)
        assert proof == ref_proof(old_size, leaves[:new_size])
        verify_consistency(old_size, new_size, ref_mth(leaves[:old_size]), new_root, proof)


@SETTINGS
@given(tree_and_sizes())
def test_consistency_matches_reference_and_verifies(case: tuple[list[bytes], int, int]) -> None:
    leaves, old_size, new_size = case
    proof = consistency_proof(leaves, old_size, new_size)
    assert proof == ref_proof(old_size, leaves[:new_size])
    old_root, new_root = ref_mth(leaves[:old_size]), ref_mth(leaves[:new_size])
    verify_consistency(old_size, new_size, old_root, new_root, proof)


def test_consistency_from_empty_tree() -> None:
    leaves = make_leaves(5)
    assert consistency_proof(leaves, 0, 5) == []
    assert consistency_proof([], 0, 0) == []
    verify_consistency(0, 5, EMPTY_ROOT, root(leaves), [])
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    with pytest.raises(ProofError):
        verify_consistency(0, 5, root(leaves[:1]), root(leaves), [])
    with pytest.raises(ProofError):
        verify_consistency(0, 5, EMPTY_ROOT, root(leaves), [root(leaves)])


@SETTINGS
@given(
    tree_and_sizes(),
    st.integers(0, 10**6),
    st.integers(0, 31),
    st.integers(1, 255),
    st.binary(min_size=32, max_size=32),
)
def test_consistency_tampering_is_rejected(
    case: tuple[list[bytes], int, int], element: int, byte: int, mask: int, extra: bytes
) -> None:
    leaves, old_size, new_size = case
    proof = consistency_proof(leaves, old_size, new_size)
    old_root, new_root = root(leaves[:old_size]), root(leaves[:new_size])

    def rejected(old: int, new: int, old_r: bytes, new_r: bytes, proof: list[bytes]) -> None:
        with pytest.raises(ProofError):
            verify_consistency(old, new, old_r, new_r, proof)

    rejected(old_size, new_size, flip([old_root], 0, byte, mask)[0], new_root, proof)
    rejected(old_size, new_size, old_root, flip([new_root], 0, byte, mask)[0], proof)
    rejected(old_size, new_size, old_root, old_root if old_size < new_size else EMPTY_ROOT, proof)
    rejected(old_size, new_size, old_root, new_root, [*proof, extra])
    rejected(old_size, new_size, old_root, new_root, [extra, *proof])
    if proof:
        rejected(old_size, new_size, old_root, new_root, flip(proof, element, byte, mask))
        rejected(old_size, new_size, old_root, new_root, proof[:-1])
        rejected(old_size, new_size, old_root, new_root, proof[1:])
    # Claimed sizes that differ, each with its own true root: only that size pair's own
    # proof may verify.
    candidates = {old_size - 1, old_size + 1, new_size - 1, new_size + 1, 1, len(leaves)}
    for other_old in candidates:
        for other_new in candidates | {new_size}:
            pair = (other_old, other_new)
            if pair == (old_size, new_size) or not 0 < other_old <= other_new <= len(leaves):
                continue
            args = (other_old, other_new, root(leaves[:other_old]), root(leaves[:other_new]))
            if consistency_proof(leaves, other_old, other_new) == proof:
                verify_consistency(*args, proof)
            else:
                rejected(*args, proof)
    rejected(new_size + 1, new_size, old_root, new_root, proof)
    rejected(-1, new_size, old_root, new_root, proof)


# --- Argument checking. ---


@pytest.mark.parametrize(
    ("index", "size"), [(-1, 3), (3, 3), (0, 0), (0, 6), (7, 6), (0, -1), (5, 4)]
)
def test_inclusion_out_of_range(index: int, size: int) -> None:
    leaves = make_leaves(5)
    with pytest.raises(ProofError):
        inclusion_proof(leaves, index, size)
    if not 0 <= index < size:
        with pytest.raises(ProofError):
            verify_inclusion(leaves[0], index, size, [], root(leaves))


@pytest.mark.parametrize(("old", "new"), [(-1, 3), (4, 3), (0, 6), (6, 6), (2, -1), (-2, -1)])
def test_consistency_out_of_range(old: int, new: int) -> None:
    leaves = make_leaves(5)
    with pytest.raises(ProofError):
        consistency_proof(leaves, old, new)
    if not 0 <= old <= new:
        with pytest.raises(ProofError):
            verify_consistency(old, new, EMPTY_ROOT, EMPTY_ROOT, [])


def test_error_messages_are_clear() -> None:
    with pytest.raises(ProofError, match="outside a tree of size 3"):
        inclusion_proof(make_leaves(3), 3, 3)
    with pytest.raises(ProofError, match="exceeds the 3 leaves"):
        consistency_proof(make_leaves(3), 1, 4)
