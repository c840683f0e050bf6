"""Consent over HTTP: grant, revoke, status and history, "at time T", and concurrent changes."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import uvicorn
from litestar import Litestar
from litestar.testing import TestClient

from api.http.app import create_app
from api.http.settings import HttpSettings
from httpapi.donating import donate
from httpapi.test_donations import register
from ledger.settings import Settings

Client = TestClient[Litestar]


def test_grant_revoke_status_history_and_at(client: Client) -> None:
    _, headers = register(client)
    donation_id = donate(client, headers).json()["donation"]["donation_id"]
    url = f"/api/v1/donations/{donation_id}/consent"
    made = datetime.now(UTC)
    granted = client.post(url, json={"purpose": "commercial", "granted": True}, headers=headers)
    assert granted.status_code == 200, granted.text
    assert granted.json()["changed"] is True
    assert granted.json()["consents"] == {
        "exhibit": True,
        "train": True,
        "commercial": True,
        "research": False,
    }
    repeat = client.post(url, json={"purpose": "commercial", "granted": True}, headers=headers)
    assert repeat.json()["changed"] is False
    revoked = client.post(url, json={"purpose": "train", "granted": False}, headers=headers)
    assert revoked.json()["consents"]["train"] is False
    status = client.get(url, headers=headers).json()
    assert [(c["purpose"], c["change"]) for c in status["history"]] == [
        ("exhibit", "granted"),
        ("train", "granted"),
        ("commercial", "granted"),
        ("train", "revoked"),
    ]
    assert status["consents"]["train"] is False
    then = client.get(f"{url}/train", params={"at": made.isoformat()}, headers=headers)
    assert then.status_code == 200, then.text
    assert then.json()["granted"] is True
    now = client.get(f"{url}/train", headers=headers).json()
    assert now["granted"] is False
    before = (made - timedelta(days=1)).isoformat()
    assert (
        client.get(f"{url}/train", params={"at": before}, headers=headers).json()["granted"]
        is False
    )


def test_consent_refusals(sqlite_client: Client) -> None:
    _, headers = register(sqlite_client)
    _, other = register(sqlite_client, "Copper Wren")
    donation_id = donate(sqlite_client, headers).json()["donation"]["donation_id"]
    url = f"/api/v1/donations/{donation_id}/consent"
    unknown = sqlite_client.post(url, json={"purpose": "gossip", "granted": True}, headers=headers)
    assert unknown.status_code == 422
    assert "exhibit, train, commercial, research" in unknown.json()["detail"]
    assert sqlite_client.get(f"{url}/gossip", headers=headers).status_code == 422
    naive = sqlite_client.get(f"{url}/train", params={"at": "2024-01-01T00:00:00"}, headers=headers)
    assert naive.status_code == 422
    assert "time zone" in naive.json()["detail"]
    assert (
        sqlite_client.get(f"{url}/train", params={"at": "soon"}, headers=headers).status_code == 422
    )
    for request in (
        lambda: sqlite_client.post(url, json={"purpose": "train", "granted": False}, headers=other),
        lambda: sqlite_client.get(url, headers=other),
        lambda: sqlite_client.get(f"{url}/train", headers=other),
    ):
        assert request().status_code == 404
    artist_id = sqlite_client.get(f"/api/v1/donations/{donation_id}", headers=headers).json()[
        "artist_id"
    ]
    sqlite_client.post(f"/api/v1/artists/{artist_id}/erasure", json={}, headers=headers)
    gone = sqlite_client.post(url, json={"purpose": "train", "granted": True}, headers=headers)
    assert gone.status_code == 410
    after = sqlite_client.get(url, headers=headers).json()
    assert after["withdrawn"] is True
    assert not any(after["consents"].values())


# --- several clients at once, against a real server ---------------------------------------


@pytest.fixture
def server(backend: Settings) -> Iterator[str]:
    """`museum serve`'s app under uvicorn in a thread, on a free port: its base URL."""
    http = HttpSettings(rate_limit="100000/minute", key_cache_seconds=0)
    config = uvicorn.Config(create_app(backend, http), log_level="warning", lifespan="on")
    running = uvicorn.Server(config)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=running.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not running.started:
        assert thread.is_alive(), "the server stopped while starting"
        assert time.monotonic() < deadline, "the server did not start within 30 s"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        running.should_exit = True
        thread.join(timeout=30)
        sock.close()


OWN = {"exhibit": 0, "train": 1, "commercial": 2}  # one client each
SHARED = "research"  # two clients at once
CHANGES = 6


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_concurrent_consent_changes_lose_nothing(server: str) -> None:
    with httpx.Client(base_url=server, timeout=60) as setup:
        registered = setup.post(
            "/api/v1/artists",
            json={"pseudonym": "Many Hands", "legal_name": "N. N.", "contact": "n@example.org"},
        ).json()
        headers = {"Authorization": f"Bearer {registered['key']['secret']}"}
        donation_id = donate(setup, headers).json()["donation"]["donation_id"]
    url = f"/api/v1/donations/{donation_id}/consent"
    plans = [(purpose, True) for purpose in OWN] + [(SHARED, True), (SHARED, False)]
    answers: list[list[dict[str, object]]] = [[] for _ in plans]
    failures: list[str] = []
    start = threading.Barrier(len(plans))

    def client(number: int, purpose: str, first: bool) -> None:
        with httpx.Client(base_url=server, headers=headers, timeout=60) as mine:
            start.wait()
            for step in range(CHANGES):
                wanted = first if step % 2 == 0 else not first
                # the clients on `exhibit`/`train` start from granted: begin by revoking
                if purpose in ("exhibit", "train"):
                    wanted = not wanted
                answer = mine.post(url, json={"purpose": purpose, "granted": wanted})
                if answer.status_code != 200:
                    failures.append(f"{purpose}: {answer.status_code} {answer.text}")
                    return
                answers[number].append(answer.json())

    threads = [
        threading.Thread(target=client, args=(n, purpose, first))
        for n, (purpose, first) in enumerate(plans)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    with httpx.Client(base_url=server, headers=headers, timeout=60) as reader:
        status = reader.get(url).json()
    trail = [(c["purpose"], c["change"]) for c in status["history"]][2:]  # after the donation
    recorded = Counter(purpose for purpose, _ in trail)
    changed = Counter(
        a["purpose"] for client_answers in answers for a in client_answers if a["changed"]
    )
    assert recorded == changed, "each change is recorded exactly once"
    for purpose in [*OWN, SHARED]:
        mine = [change for p, change in trail if p == purpose]
        assert all(a != b for a, b in itertools.pairwise(mine)), purpose
        last = mine[-1] == "granted" if mine else purpose in ("exhibit", "train")
        assert status["consents"][purpose] is last, purpose
    for purpose, number in OWN.items():
        # a client alone on its purpose: every change took, the final status is its last one
        assert all(a["changed"] for a in answers[number]), purpose
        assert status["consents"][purpose] is answers[number][-1]["granted"]
    versions = [c["version"] for c in status["history"]]
    assert len(set(versions[2:])) == len(versions[2:]), "one event per version"
