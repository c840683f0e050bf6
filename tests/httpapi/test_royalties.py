"""Royalties over HTTP: revenue → balances → payout → refund → statement (JSON, HTML, CSV), on
both backends; the Idempotency-Key rules; one key reported by many clients at once."""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from conftest import _postgres_database
from litestar import Litestar
from litestar.testing import TestClient

from api.http.app import create_app
from api.http.museum import MuseumServices
from api.http.settings import HttpSettings
from httpapi.conftest import museum_of
from httpapi.money_world import PERIOD, Money, keyed, money_world, revenue
from ledger.crypto import MasterKey
from ledger.settings import Settings
from royalties.domain import RevenueReport
from royalties.statement import CSV_COLUMNS

API = "/api/v1"


def reports_booked(museum: MuseumServices) -> int:
    return len(museum.ledger.ids_with_topic(RevenueReport.RevenueReported))


def all_balances(client: TestClient[Litestar], headers: dict[str, str], limit: int) -> list[Any]:
    """Walk every page of /balances by its cursors."""
    found: list[Any] = []
    params: dict[str, Any] = {"limit": limit}
    while True:
        answer = client.get(f"{API}/balances", headers=headers, params=params)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert len(body["items"]) <= limit
        found += body["items"]
        if body["cursor"] is None:
            return found
        params["cursor"] = body["cursor"]


def test_revenue_balances_payout_refund_statement(client: TestClient[Litestar]) -> None:
    money = money_world(client)
    keys = money.keys
    member, other = keys.artist_ids["member"], keys.artist_ids["other_artist"]

    first = client.post(
        f"{API}/revenue", json=revenue(money), headers=keyed(keys["integrator"], "sale-1")
    )
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    report = first.json()
    assert report["amount_minor"] == 10_000
    assert report["idempotency_key"] == "sale-1"
    assert sum(p["amount"] for p in report["postings"]) == 0
    credited = {c["artist_id"] for c in report["contributors"] if c["eligible_ppm"] > 0}
    assert credited == {member, other}

    again = client.post(
        f"{API}/revenue", json=revenue(money), headers=keyed(keys["integrator"], "sale-1")
    )
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == report
    assert reports_booked(museum_of(client)) == 1
    assert client.get(f"{API}/revenue/sale-1", headers=keys["compliance"]).json() == report

    # Balances: every page by cursor, the same rows as one big page; the books balance.
    whole = all_balances(client, keys["compliance"], 500)
    assert all_balances(client, keys["compliance"], 1) == whole
    assert sum(row["balance"] for row in whole) == 0
    artists = {
        row["account"]: row["balance"] for row in whole if row["account"].startswith("artist:")
    }
    assert set(artists) == {f"artist:{member}", f"artist:{other}"}
    own = client.get(f"{API}/artists/{member}/balance", headers=keys["member"])
    assert own.status_code == 200
    assert own.json()["balances"][0]["balance"] == artists[f"artist:{member}"]
    assert client.get(f"{API}/artists/{other}/balance", headers=keys["member"]).status_code == 404
    theirs = client.get(f"{API}/artists/{other}/balance", headers=keys["compliance"]).json()
    assert theirs["balances"][0]["balance"] == artists[f"artist:{other}"]

    # Payout run: both artists are above the default threshold (20 EUR); a repeat pays nothing.
    run = client.post(f"{API}/payout-runs", json={"run_key": "2026-11"}, headers=keys["curator"])
    assert run.status_code == 201, run.text
    paid = {p["artist_id"]: p["amount"] for p in run.json()["payouts"]}
    assert paid == {member: artists[f"artist:{member}"], other: artists[f"artist:{other}"]}
    repeat = client.post(f"{API}/payout-runs", json={"run_key": "2026-11"}, headers=keys["curator"])
    assert repeat.status_code == 200
    assert repeat.json()["repeated"] is True
    assert repeat.json()["payouts"] == run.json()["payouts"]

    # A refund after the payout leaves the artists owing; its key is its own.
    refund = {"amount_minor": 1_000, "reason": "print damaged"}
    refunded = client.post(
        f"{API}/revenue/sale-1/refunds", json=refund, headers=keyed(keys["integrator"], "refund-1")
    )
    assert refunded.status_code == 201, refunded.text
    assert refunded.json()["refunded_minor"] == 1_000
    replayed = client.post(
        f"{API}/revenue/sale-1/refunds", json=refund, headers=keyed(keys["integrator"], "refund-1")
    )
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json() == refunded.json()
    clash = client.post(
        f"{API}/revenue/sale-1/refunds",
        json={"amount_minor": 2_000},
        headers=keyed(keys["integrator"], "refund-1"),
    )
    assert clash.status_code == 409
    owed = client.get(f"{API}/artists/{member}/balance", headers=keys["member"]).json()
    closing = owed["balances"][0]["balance"]
    assert closing < 0

    # The statement in three formats, each telling the same story.
    url = f"{API}/artists/{member}/statement"
    statement = client.get(url, headers=keys["member"], params=PERIOD)
    assert statement.status_code == 200, statement.text
    (eur,) = statement.json()["currencies"]
    assert eur["currency"] == "EUR"
    assert eur["opening_balance"] == 0
    assert eur["closing_balance"] == closing
    assert eur["paid_out"] == paid[member]
    assert eur["reversed"] > 0
    assert eur["credits"][0]["generation_id"] == money.generation_id

    page = client.get(url + ".html", headers=keys["member"], params=PERIOD)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Royalty statement: Pseudonym member" in page.text
    assert "<script" not in page.text

    sheet = client.get(url + ".csv", headers=keys["member"], params=PERIOD)
    assert sheet.status_code == 200
    assert sheet.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in sheet.headers["content-disposition"]
    assert sheet.text.endswith("\r\n")
    rows = list(csv.DictReader(io.StringIO(sheet.text, newline="")))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert {row["currency"] for row in rows} == {"EUR"}
    assert {row["artist_id"] for row in rows} == {member}
    lines = len(eur["revenue_lines"]) + len(eur["reversals"]) + len(eur["payouts"])
    assert len(rows) == lines
    assert sum(int(row["amount_minor"]) for row in rows) == closing - eur["opening_balance"]
    assert {row["section"] for row in rows} == {"revenue", "reversal", "payout"}

    # Another artist's statement is a 404 for an artist key, in every format; compliance reads it.
    for suffix in ("", ".html", ".csv"):
        mine = f"{API}/artists/{other}/statement{suffix}"
        assert client.get(mine, headers=keys["member"], params=PERIOD).status_code == 404
        assert client.get(mine, headers=keys["compliance"], params=PERIOD).status_code == 200


STABLE = {
    "t": 1,
    "projection_seeds": [7],
    "agreement": {"item": 0.959, "artist": 0.963, "item_min": 0.897, "projection_seeds": 3},
}


def test_the_statement_and_the_attribution_say_how_stable_the_credit_is(
    sqlite_client: TestClient[Litestar],
) -> None:
    money = money_world(sqlite_client, parameters=STABLE)
    keys, member = money.keys, money.keys.artist_ids["member"]
    booked = sqlite_client.post(
        f"{API}/revenue", json=revenue(money), headers=keyed(keys["integrator"], "stable-1")
    )
    assert booked.status_code == 201, booked.text
    # The attribution's public view carries its projection seeds and recorded agreement.
    seen = sqlite_client.get(f"{API}/generations/{money.generation_id}/attribution")
    assert seen.status_code == 200, seen.text
    body = seen.json()
    assert body["projection_seeds"] == [7]
    assert body["credit_stability"] == {"method": "trak", **STABLE["agreement"]}
    # The artist's statement says it per credited generation, in JSON and in the page.
    url = f"{API}/artists/{member}/statement"
    statement = sqlite_client.get(url, headers=keys["member"], params=PERIOD)
    assert statement.status_code == 200, statement.text
    [credit] = statement.json()["currencies"][0]["credits"]
    assert credit["attribution_id"] == body["attribution_id"]
    assert credit["credit_stability"]["artist"] == 0.963
    page = sqlite_client.get(url + ".html", headers=keys["member"], params=PERIOD)
    assert "0.963 per artist, 0.959 per item across 3 projection seeds" in page.text


BAD_KEYS = ["sale-2\n", " sale-2", "sale-2 ", "sale\t2", "sale-2\r", "s" * 129, ""]


def test_idempotency_key_rules_and_refusals(sqlite_client: TestClient[Litestar]) -> None:
    money = money_world(sqlite_client)
    keys, museum = money.keys, museum_of(sqlite_client)
    post = sqlite_client.post
    for bad in BAD_KEYS:
        refused = post(
            f"{API}/revenue", json=revenue(money), headers=keyed(keys["integrator"], bad)
        )
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
    cyrillic = keys["integrator"] | {"Idempotency-Key": "sаle-2".encode()}
    assert post(f"{API}/revenue", json=revenue(money), headers=cyrillic).status_code == 422
    missing = post(f"{API}/revenue", json=revenue(money), headers=keys["integrator"])
    assert missing.status_code == 422
    assert "Idempotency-Key" in missing.json()["detail"]
    assert reports_booked(museum) == 0
    assert sqlite_client.get(f"{API}/balances", headers=keys["compliance"]).json()["items"] == []

    # Bodies that are not a report: nothing is booked for any of them.
    key = keyed(keys["integrator"], "sale-3")
    for body in (
        revenue(money) | {"amount_minor": 19.99},
        revenue(money) | {"amount_minor": True},
        revenue(money) | {"amount_minor": 0},
        revenue(money) | {"amount_minor": 10**16},
        revenue(money) | {"currency": "XXZ"},
        revenue(money) | {"generation_id": money.generation_id.replace("-", "")},
        revenue(money) | {"usage": "print"},
        {"amount_minor": 100},
    ):
        answer = post(f"{API}/revenue", json=body, headers=key)
        assert answer.status_code == 422, (body, answer.text)
    unknown = revenue(money) | {"generation_id": "00000000-0000-4000-8000-000000000000"}
    assert post(f"{API}/revenue", json=unknown, headers=key).status_code == 404
    assert reports_booked(museum) == 0

    # Booked once; another body under the key is a 409 and leaves the first report as it was.
    assert post(f"{API}/revenue", json=revenue(money), headers=key).status_code == 201
    clash = post(f"{API}/revenue", json=revenue(money, amount=5), headers=key)
    assert clash.status_code == 409
    assert "different report" in clash.json()["detail"]
    assert (
        post(f"{API}/revenue", json=revenue(money, reference="other"), headers=key).status_code
        == 409
    )
    assert reports_booked(museum) == 1
    stored = sqlite_client.get(f"{API}/revenue/sale-3", headers=keys["integrator"]).json()
    assert stored["amount_minor"] == 10_000

    # Keys in paths follow the same rule; unknown reports are 404; refunds are bounded.
    assert (
        sqlite_client.get(f"{API}/revenue/sale-3%0A", headers=keys["compliance"]).status_code == 422
    )
    assert sqlite_client.get(f"{API}/revenue/sale-9", headers=keys["compliance"]).status_code == 404
    refunds = f"{API}/revenue/sale-3/refunds"
    too_much = post(refunds, json={"amount_minor": 10_001}, headers=keyed(keys["integrator"], "r1"))
    assert too_much.status_code == 422
    bad_kind = post(
        refunds, json={"amount_minor": 1, "kind": "gift"}, headers=keyed(keys["integrator"], "r1")
    )
    assert bad_kind.status_code == 422
    assert (
        post(
            refunds, json={"amount_minor": 1}, headers=keyed(keys["integrator"], "r1\n")
        ).status_code
        == 422
    )
    assert stored == sqlite_client.get(f"{API}/revenue/sale-3", headers=keys["integrator"]).json()

    # Statement periods need a zone and must run forwards; a bad cursor is a 422.
    member = keys.artist_ids["member"]
    url = f"{API}/artists/{member}/statement"
    naive = {"start": "2000-01-01T00:00:00", "end": PERIOD["end"]}
    assert sqlite_client.get(url, headers=keys["member"], params=naive).status_code == 422
    backwards = {"start": PERIOD["end"], "end": PERIOD["start"]}
    assert (
        sqlite_client.get(url + ".csv", headers=keys["member"], params=backwards).status_code == 422
    )
    bad_cursor = sqlite_client.get(
        f"{API}/balances", headers=keys["compliance"], params={"cursor": "nope"}
    )
    assert bad_cursor.status_code == 422
    assert (
        post(f"{API}/payout-runs", json={"run_key": "2026 11"}, headers=keys["curator"]).status_code
        == 422
    )


# --- many clients, one key, a real server on PostgreSQL -------------------------------------


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, MuseumServices]]:
    """uvicorn serving the app on a fresh PostgreSQL database, in a thread of this process."""
    for url in _postgres_database():
        settings = Settings(
            home=tmp_path / "var", database_url=url, master_key=MasterKey.generate_text()
        )
        app = create_app(settings, HttpSettings(rate_limit="100000/minute", key_cache_seconds=0))
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            for _ in range(600):
                if server.started or not thread.is_alive():
                    break
                threading.Event().wait(0.05)
            assert server.started, "the server did not start"
            port = server.servers[0].sockets[0].getsockname()[1]
            yield f"http://127.0.0.1:{port}", app.state.museum
        finally:
            server.should_exit = True
            thread.join(timeout=30)


@pytest.mark.postgres
def test_one_key_from_many_clients_books_once(served: tuple[str, MuseumServices]) -> None:
    base, museum = served
    money: Money = money_world(museum)
    body = revenue(money)
    headers = keyed(money.keys["integrator"], "sale-race")
    clients = 8
    start = threading.Barrier(clients)
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def report() -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            start.wait()
            answer = http.post(f"{API}/revenue", json=body, headers=headers)
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=report) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert len(answers) == clients
    assert [a.status_code for a in answers] == [201] * clients, [a.text for a in answers]
    assert len({a.text for a in answers}) == 1  # every client got the same report
    fresh = [a for a in answers if a.headers.get("Idempotent-Replayed") != "true"]
    assert len(fresh) == 1  # one booked; the others were told they repeat it
    assert reports_booked(museum) == 1
    report_id = answers[0].json()["report_id"]
    rows = museum.royalties.projection.rows_for([report_id])
    assert len(rows) == len(answers[0].json()["postings"])
