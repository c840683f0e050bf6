"""The log as a standard monitor and witness see it: the checkpoint and tiles over HTTP (read
with `sigstore`'s parser and hashing), a witness service cosigning it, the cosignature
published with the checkpoint, and an offline proof bundle that needs a quorum of witnesses."""

from __future__ import annotations

from pathlib import Path

import factories
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sigstore._internal.merkle import (
    _chain_border_right,
    _chain_inner,
    _decomp_inclusion_proof,
    _hash_children,
    _hash_leaf,
)
from sigstore._internal.rekor.checkpoint import SignedCheckpoint

from api.http.witness.app import create_witness_app
from api.witness_client import request_cosignature
from httpapi.conftest import Keys, issue_keys, museum_of
from ledger.checkpoint import Checkpoint
from ledger.cosignature import CosignatureVerifier, open_cosigned
from ledger.errors import ProofError
from ledger.proof_bundle import ProofBundle, verify_proof
from ledger.signed_note import NoteVerifier
from ledger.witness_state import WitnessHome

LOG = "/api/v1/log"


def mth(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return _hash_children(mth(leaves[:k]), mth(leaves[k:]))


def test_a_monitor_reads_checkpoint_and_tiles(
    sqlite_client: TestClient[Litestar], keys: Keys
) -> None:
    del keys  # the keys' artists and donations are the log's entries
    answer = sqlite_client.get(f"{LOG}/checkpoint")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/plain; charset=utf-8"
    assert answer.headers["cache-control"] == "public, max-age=2"
    parsed = SignedCheckpoint.from_text(answer.text)
    size = parsed.checkpoint.log_size
    assert 0 < size < 256
    assert parsed.checkpoint.origin == museum_of(sqlite_client).settings.log_origin
    log_key = NoteVerifier.from_key(sqlite_client.get(f"{LOG}/key").text)
    assert parsed.signed_note.signatures[0].sig_hash == log_key.key_id

    tile = sqlite_client.get(f"{LOG}/tile/0/000.p/{size}")
    assert tile.status_code == 200
    assert tile.headers["content-type"] == "application/octet-stream"
    assert tile.headers["cache-control"] == "public, max-age=31536000, immutable"
    bundle = sqlite_client.get(
        f"{LOG}/tile/entries/000.p/{size}", headers={"Accept-Encoding": "gzip"}
    )
    assert bundle.headers["content-encoding"] == "gzip"
    entries, raw, at = [], bundle.content, 0  # the client has undone the gzip
    while at < len(raw):
        length = int.from_bytes(raw[at : at + 2], "big")
        entries.append(raw[at + 2 : at + 2 + length])
        at += 2 + length
    leaves = [tile.content[i : i + 32] for i in range(0, len(tile.content), 32)]
    assert [_hash_leaf(entry) for entry in entries] == leaves
    assert mth(leaves).hex() == parsed.checkpoint.log_hash

    for missing in ("0/000", f"0/000.p/{size + 1}", "1/000.p/1", "0/x000/000", "0/000.p/0"):
        refused = sqlite_client.get(f"{LOG}/tile/{missing}")
        assert refused.status_code == 404, missing
        assert refused.headers["content-type"].startswith("application/problem+json")


def test_witness_cosigns_and_proofs_need_a_quorum(
    client: TestClient[Litestar], tmp_path: Path
) -> None:
    """On SQLite and PostgreSQL: the cosignatures' table is the ledger database's."""
    museum = museum_of(client)
    issue_keys(museum)
    publication = museum.publication
    homes = [
        WitnessHome.create(
            tmp_path / f"w{i}", f"witness.test/w{i}", [publication.signer.verifier_key()]
        )
        for i in (1, 2)
    ]
    trusted = [CosignatureVerifier.from_key(home.cosigner.verifier_key()) for home in homes]
    with TestClient(create_witness_app(homes[0])) as witness:
        first = request_cosignature(publication, "http://testserver", trusted[0], witness)
        museum.ledger.register_artist(factories.artist("Later donor"))  # the log grows
        second = request_cosignature(publication, "http://testserver", trusted[0], witness)
        assert second.tree_size > first.tree_size  # proved consistent from the first
        # The witness's record of the museum survives it; a refusal is the spec's.
        stale = witness.post(
            "/add-checkpoint", content=b"old 0\n\n" + client.get(f"{LOG}/checkpoint").content
        )
        assert stale.status_code == 409
        assert stale.headers["content-type"].startswith("text/x.tlog.size")
        assert stale.text == f"{second.tree_size}\n"

    published = client.get(f"{LOG}/checkpoint").text
    log = publication.signer.verifier()
    assert open_cosigned(published, log, trusted, quorum=1).witnesses == ("witness.test/w1",)
    with pytest.raises(ProofError):
        open_cosigned(published, log, trusted, quorum=2)

    nid = museum.ledger.integrity.receipt(1).event.notification_id
    text = publication.proof_bundle(nid).render()
    assert text.startswith("c2sp.org/tlog-proof@v1\nextra ")
    checked = verify_proof(text, log, trusted, quorum=1)
    assert (checked.index, checked.checkpoint.size) == (0, second.tree_size)
    with pytest.raises(ProofError, match="2 required"):
        verify_proof(text, log, trusted, quorum=2)
    with pytest.raises(ProofError):
        verify_proof(text, log, trusted, entry=checked.entry + b" ")

    # sigstore's RFC 6962 inclusion check agrees with ours on the bundle's path.
    bundle = ProofBundle.parse(text)
    checkpoint = Checkpoint.parse(bundle.checkpoint.split("\n\n")[0] + "\n")
    inner, border = _decomp_inclusion_proof(bundle.index, checkpoint.size)
    assert inner + border == len(bundle.path)
    seed = _chain_inner(_hash_leaf(checked.entry), list(bundle.path[:inner]), bundle.index)
    assert _chain_border_right(seed, list(bundle.path[inner:])) == checkpoint.root_hash


def test_receipts_and_certificates_as_proof_bundles(
    sqlite_client: TestClient[Litestar], keys: Keys
) -> None:
    museum = museum_of(sqlite_client)
    log = museum.publication.signer.verifier()
    answer = sqlite_client.get("/api/v1/ledger/events/1/proof", headers=keys["compliance"])
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/plain; charset=utf-8"
    assert verify_proof(answer.text, log).index == 0
    assert sqlite_client.get("/api/v1/ledger/events/1/proof").status_code == 401

    artist = keys.artist_ids["member"]
    base = f"/api/v1/artists/{artist}/erasure"
    early = sqlite_client.get(f"{base}/certificate.tlog-proof", headers=keys["compliance"])
    assert early.status_code == 404
    asked = sqlite_client.post(base, json={"reason": "moving on"}, headers=keys["member"])
    assert asked.status_code == 202, asked.text
    proof = sqlite_client.get(f"{base}/certificate.tlog-proof", headers=keys["member"])
    assert proof.status_code == 200, proof.text
    checked = verify_proof(proof.text, log)
    assert b"ErasureCompleted" in checked.entry
    certificate = sqlite_client.get(f"{base}/certificate", headers=keys["member"]).json()
    assert certificate["artist_id"] in checked.entry.decode("utf-8", "replace")
    other = sqlite_client.get(f"{base}/certificate.tlog-proof", headers=keys["other_artist"])
    assert other.status_code in (403, 404)


def test_a_cosignature_is_kept_once(sqlite_client: TestClient[Litestar], tmp_path: Path) -> None:
    museum = museum_of(sqlite_client)
    publication = museum.publication
    home = WitnessHome.create(
        tmp_path / "w", "witness.test/w1", [publication.signer.verifier_key()]
    )
    trusted = CosignatureVerifier.from_key(home.cosigner.verifier_key())
    with TestClient(create_witness_app(home)) as witness:
        request_cosignature(publication, "http://testserver", trusted, witness)
        request_cosignature(publication, "http://testserver", trusted, witness)  # same size
    checkpoint = Checkpoint.parse(publication.checkpoint().text)
    assert len(publication.cosignatures.of(checkpoint)) == 1
    with pytest.raises(ProofError, match="did not sign"):
        publication.record_cosignature(
            Checkpoint(checkpoint.origin, checkpoint.size, b"\0" * 32),
            publication.cosignatures.of(checkpoint)[0],
        )
