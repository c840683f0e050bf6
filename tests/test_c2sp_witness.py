"""A witness (c2sp.org/tlog-witness) on its own SQLite state: it cosigns only a checkpoint
consistent with the last one it cosigned, and refuses with the spec's statuses otherwise."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import merkle
from ledger.checkpoint import CheckpointSigner
from ledger.cosignature import CosignatureVerifier, open_cosigned
from ledger.signed_note import parse_note
from ledger.witness import AddCheckpoint, Witness, WitnessRefusal
from ledger.witness_state import WitnessHome

ORIGIN = "museum.test/api/v1/log"
LEAVES = [merkle.leaf_hash(b"entry %d" % i) for i in range(40)]


def request(signer: CheckpointSigner, old: int, new: int, leaves: list[bytes] = LEAVES) -> bytes:
    proof = merkle.consistency_proof(leaves, old, new) if old else []
    note = signer.sign(new, merkle.root(leaves[:new])).render()
    return AddCheckpoint(old, tuple(proof), note).render()


def refusal(witness: Witness, body: bytes) -> WitnessRefusal:
    with pytest.raises(WitnessRefusal) as caught:
        witness.add_checkpoint(body)
    return caught.value


@pytest.fixture
def log_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def home(tmp_path: Path, log_key: Ed25519PrivateKey) -> WitnessHome:
    signer = CheckpointSigner(ORIGIN, log_key)
    return WitnessHome.create(tmp_path / "witness", "witness.test/w1", [signer.verifier_key()])


def test_cosigns_along_a_consistent_log_and_persists(
    home: WitnessHome, log_key: Ed25519PrivateKey
) -> None:
    signer = CheckpointSigner(ORIGIN, log_key)
    witness = Witness(home.cosigner, home.logs, home.state, clock=lambda: 1_700_000_000)
    trusted = [CosignatureVerifier.from_key(home.cosigner.verifier_key())]
    for old, new in ((0, 5), (5, 17), (17, 17), (17, 40)):
        body = request(signer, old, new)
        line = witness.add_checkpoint(body)
        assert line.startswith("— witness.test/w1 ")
        assert line.endswith("\n")
        note = body.decode().split("\n\n", 1)[1] + line
        assert open_cosigned(note, signer.verifier(), trusted, quorum=1).checkpoint.size == new
    # A fresh process on the same directory knows where it stopped.
    again = WitnessHome.open(home.directory)
    latest = again.state.latest(ORIGIN)
    assert latest is not None
    assert latest.size == 40
    assert latest.root_hash == merkle.root(LEAVES)


def test_refuses_as_the_spec_says(home: WitnessHome, log_key: Ed25519PrivateKey) -> None:
    signer = CheckpointSigner(ORIGIN, log_key)
    witness = Witness(home.cosigner, home.logs, home.state, clock=lambda: 1_700_000_000)
    witness.add_checkpoint(request(signer, 0, 10))

    stale = refusal(witness, request(signer, 5, 20))  # not the size it cosigned
    assert (stale.status, stale.body, stale.content_type) == (409, "10\n", "text/x.tlog.size")
    wrong_proof = AddCheckpoint(
        10, (hashlib.sha256(b"x").digest(),), parse_body(request(signer, 10, 20))
    )
    assert refusal(witness, wrong_proof.render()).status == 422
    too_old = AddCheckpoint(30, (), parse_body(request(signer, 10, 20)))
    assert refusal(witness, too_old.render()).status == 400
    assert (
        refusal(witness, b"old 01\n\n" + request(signer, 0, 3).split(b"\n\n", 1)[1]).status == 400
    )
    assert refusal(witness, b"not a request").status == 400
    stranger = CheckpointSigner("elsewhere.test/log", log_key)
    assert refusal(witness, request(stranger, 0, 3)).status == 404
    impostor = CheckpointSigner(ORIGIN, Ed25519PrivateKey.generate())
    assert refusal(witness, request(impostor, 10, 20)).status == 403

    # Same size, another root: a split view, refused, said so, and kept as evidence.
    forked = [*LEAVES[:9], merkle.leaf_hash(b"rewritten"), *LEAVES[10:]]
    split = refusal(witness, request(signer, 10, 10, forked))
    assert split.status == 409
    assert "split view" in str(split)
    assert any("split view" in reason for reason in home.state.conflicts(ORIGIN))
    # …and a larger fork does not extend it either.
    assert refusal(witness, request(signer, 10, 20, forked)).status == 422
    latest = home.state.latest(ORIGIN)
    assert latest is not None
    assert latest.size == 10  # nothing refused moved the witness


def parse_body(body: bytes) -> str:
    return body.decode().split("\n\n", 1)[1]


def test_a_witness_directory_is_made_once(tmp_path: Path, log_key: Ed25519PrivateKey) -> None:
    key = CheckpointSigner(ORIGIN, log_key).verifier_key()
    home = WitnessHome.create(tmp_path / "w", "witness.test/w1", [key])
    assert oct((home.directory / "witness.key").stat().st_mode & 0o777) == "0o600"
    with pytest.raises(Exception, match="already holds a witness key"):
        WitnessHome.create(tmp_path / "w", "witness.test/w1", [key])
    assert parse_note(
        CheckpointSigner(ORIGIN, log_key).sign(0, merkle.EMPTY_ROOT).render()
    ).signatures


def test_a_log_rolling_its_key_over_is_trusted_under_both(tmp_path: Path) -> None:
    old_key, new_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    old, new = CheckpointSigner(ORIGIN, old_key), CheckpointSigner(ORIGIN, new_key)
    home = WitnessHome.create(
        tmp_path / "w", "witness.test/w1", [old.verifier_key(), new.verifier_key()]
    )
    witness = Witness(home.cosigner, home.logs, home.state, clock=lambda: 1)
    witness.add_checkpoint(request(old, 0, 5))
    both = new.sign(10, merkle.root(LEAVES[:10])).with_signatures(
        old.sign(10, merkle.root(LEAVES[:10])).signatures
    )
    proof = tuple(merkle.consistency_proof(LEAVES, 5, 10))
    witness.add_checkpoint(AddCheckpoint(5, proof, both.render()).render())
    forged = new.sign(12, merkle.root(LEAVES[:12])).with_signatures(
        old.sign(13, merkle.root(LEAVES[:13])).signatures  # the old key signed another tree
    )
    proof = tuple(merkle.consistency_proof(LEAVES, 10, 12))
    assert refusal(witness, AddCheckpoint(10, proof, forged.render()).render()).status == 403
