"""The verifiable log over HTTP: a public signed head, receipts that the offline verifier (and
`museum ledger check-receipt`) accepts, who may have which receipt, consistency, verification."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from factories import run_museum
from litestar import Litestar
from litestar.testing import TestClient

from httpapi.conftest import museum_of
from httpapi.money_world import keyed, money_world, revenue
from ledger import merkle
from ledger.errors import ProofError
from ledger.log import head_message
from ledger.receipt import verify_receipt

API = "/api/v1"


def test_head_receipt_consistency_and_verification(client: TestClient[Litestar]) -> None:
    money = money_world(client)
    keys = money.keys
    before = client.get(f"{API}/ledger/head")  # public: no key
    assert before.status_code == 200
    old = before.json()
    public_key = old["public_key"]
    Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key)).verify(
        bytes.fromhex(old["signature"]),
        head_message(old["tree_size"], old["timestamp_ms"], bytes.fromhex(old["root_hash"])),
    )

    booked = client.post(
        f"{API}/revenue", json=revenue(money), headers=keyed(keys["integrator"], "sale-1")
    ).json()
    new = client.get(f"{API}/ledger/head", headers=keys["integrator"]).json()
    assert new["tree_size"] > old["tree_size"]
    assert new["public_key"] == public_key

    # The integrator's receipt of its report verifies offline, in Python and with the command.
    answer = client.get(
        f"{API}/ledger/events/{booked['report_id']}:1/receipt", headers=keys["integrator"]
    )
    assert answer.status_code == 200, answer.text
    receipt = answer.json()
    assert receipt["event"]["topic"].endswith("RevenueReport.RevenueReported")
    verify_receipt(receipt, public_key)
    by_number = client.get(
        f"{API}/ledger/events/{receipt['event']['notification_id']}/receipt",
        headers=keys["compliance"],
    )
    assert by_number.json()["event"] == receipt["event"]
    forged = receipt | {"event": receipt["event"] | {"originator_version": 2}}
    with pytest.raises(ProofError):
        verify_receipt(forged, public_key)

    # The log of the old head is a prefix of the new one.
    proof = client.get(
        f"{API}/ledger/consistency", params={"first": old["tree_size"], "second": new["tree_size"]}
    )
    assert proof.status_code == 200, proof.text
    body = proof.json()
    assert body["old_root"] == old["root_hash"]
    assert body["new_root"] == new["root_hash"]
    merkle.verify_consistency(
        old["tree_size"],
        new["tree_size"],
        bytes.fromhex(body["old_root"]),
        bytes.fromhex(body["new_root"]),
        [bytes.fromhex(node) for node in body["path"]],
    )
    backwards = {"first": new["tree_size"], "second": old["tree_size"]}
    assert client.get(f"{API}/ledger/consistency", params=backwards).status_code == 422
    beyond = {"first": 1, "second": new["tree_size"] + 10}
    assert client.get(f"{API}/ledger/consistency", params=beyond).status_code == 422

    # Verification: for staff; the figures of `museum ledger verify`, read models included.
    audit = client.get(
        f"{API}/ledger/verification", headers=keys["curator"], params={"projections": "true"}
    )
    assert audit.status_code == 200, audit.text
    figures = audit.json()
    assert figures["ok"] is True
    assert figures["events"] >= new["tree_size"]
    assert figures["projections"]["royalty_postings"]["rows"] == len(booked["postings"])
    assert client.get(f"{API}/ledger/verification", headers=keys["integrator"]).status_code == 403


def test_who_may_have_which_receipt(sqlite_client: TestClient[Litestar], tmp_path: Path) -> None:
    money = money_world(sqlite_client)
    keys = money.keys
    museum = museum_of(sqlite_client)
    mine, theirs = keys.donation_ids["member"], keys.donation_ids["other_artist"]
    public_key = museum.ledger.integrity.public_key_hex

    def receipt(event: str, who: str) -> int:
        url = f"{API}/ledger/events/{event}/receipt"
        return sqlite_client.get(url, headers=keys[who]).status_code

    own = sqlite_client.get(f"{API}/ledger/events/{mine}:1/receipt", headers=keys["member"])
    assert own.status_code == 200
    verify_receipt(own.json(), public_key)
    receipt_file = tmp_path / "receipt.json"  # `museum ledger check-receipt`: no database
    receipt_file.write_text(own.text)
    checked = run_museum(
        tmp_path / "nowhere",
        "ledger",
        "check-receipt",
        str(receipt_file),
        "--public-key",
        public_key,
    )
    assert checked.returncode == 0, checked.stderr
    assert "receipt verified" in checked.stdout
    assert receipt(f"{keys.artist_ids['member']}:1", "member") == 200
    # Another artist's donation, or a donation for an integrator, is as if it did not exist.
    assert receipt(f"{theirs}:1", "member") == 404
    assert receipt(f"{mine}:1", "integrator") == 404
    assert receipt(f"{mine}:1", "curator") == 200
    assert receipt(f"{theirs}:1", "compliance") == 200
    assert receipt(f"{theirs}:1", "visitor") == 401
    assert receipt("999999", "compliance") == 404
    assert receipt(f"{UUID(int=7)}:1", "compliance") == 404
    for bad in ("abc", "1.5", "-1", "\u0663", "99999999999999999999", f"{mine}:x", f"{mine}:"):
        assert receipt(bad, "compliance") == 422, bad
