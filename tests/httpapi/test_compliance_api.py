"""The compliance reports over HTTP: what staff read, what the public reads, and the refusals."""

from __future__ import annotations

import uuid

from litestar import Litestar
from litestar.testing import TestClient

from httpapi.conftest import Keys, museum_of
from ledger.model_records import ModelRecords
from ledger.receipt import verify_receipt


def _train(client: TestClient[Litestar]) -> str:
    """A run recorded as the trainer records one (fake checkpoint, no torch)."""
    records = ModelRecords(museum_of(client).ledger)
    run = records.start_run(job_id="http-run", config={"preset": "tiny"}, seed=0, shards=1)
    records.record_checkpoint(run.id, 0, 5, "a" * 64, b"weights")
    return str(records.complete_run(run.id, final_loss=0.1).id)


def test_a_regulator_reads_the_consent_behind_a_run(
    sqlite_client: TestClient[Litestar], keys: Keys
) -> None:
    museum = museum_of(sqlite_client)
    museum.ledger.revoke_consent(uuid.UUID(keys.donation_ids["other_artist"]), "train")
    run_id = _train(sqlite_client)
    report = sqlite_client.get(
        f"/api/v1/compliance/runs/{run_id}", headers=keys["compliance"], params={"limit": 1}
    )
    assert report.status_code == 200, report.text
    body = report.json()
    assert len(body["items"]) == 1
    assert body["next"] is not None  # the member's series has three stages
    assert body["consent_events"]
    for evidence in body["consent_events"]:
        verify_receipt(evidence["receipt"], museum.ledger.integrity.public_key_hex)
    excluded = sqlite_client.get(
        f"/api/v1/compliance/runs/{run_id}/excluded", headers=keys["compliance"]
    ).json()
    assert [line["donation_id"] for line in excluded["excluded"]] == [
        keys.donation_ids["other_artist"]
    ]
    summary = sqlite_client.get("/api/v1/compliance/training-data")  # public, no key
    assert summary.status_code == 200
    assert summary.json()["donors"] == 1
    assert "Pseudonym" not in summary.text


def test_reports_refuse_what_they_cannot_answer(
    sqlite_client: TestClient[Litestar], keys: Keys
) -> None:
    staff = keys["compliance"]
    unknown = sqlite_client.get(f"/api/v1/compliance/runs/{uuid.uuid4()}", headers=staff)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert sqlite_client.get("/api/v1/compliance/training-data").status_code == 404  # none deployed
    naive = sqlite_client.get(
        "/api/v1/compliance/attribution-concentration",
        headers=staff,
        params={"start": "2026-01-01T00:00:00", "end": "2026-02-01T00:00:00+00:00"},
    )
    assert naive.status_code == 422
    assert "time zone" in naive.json()["detail"]
    backwards = sqlite_client.get(
        "/api/v1/compliance/attribution-concentration",
        headers=staff,
        params={"start": "2026-02-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"},
    )
    assert backwards.status_code == 422
    empty = sqlite_client.get(
        "/api/v1/compliance/attribution-concentration",
        headers=staff,
        params={"start": "2026-01-01T00:00:00Z", "end": "2026-02-01T00:00:00Z"},
    ).json()
    assert (empty["attributions"], empty["gini_ppm"]) == (0, None)
    erasures = sqlite_client.get("/api/v1/compliance/erasures", headers=staff).json()
    assert erasures["total"] == 0
