"""The compliance desk: the reports, the signed head and "verify now" (also on a tampered
ledger), the erasure tracker with overdue ones marked, and a run's consent proof."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from api.web.frame import CSRF_HEADER
from httpapi.accessibility import problems
from httpapi.conftest import Keys, museum_of
from httpapi.donor_world import DonorWorld, shared_museum
from httpapi.pages import form_token, signed_in
from ledger.compliance_views import ErasureReportLineRead
from ledger.receipt import verify_receipt
from ledger.views import ErasureRead

Client = TestClient[Litestar]
DESK = "/compliance"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DonorWorld]:
    with shared_museum(tmp_path_factory.mktemp("desk") / "var") as built:
        yield built


def accessible(html: str) -> str:
    assert problems(html) == []
    return html


@pytest.mark.parametrize("who", ["compliance", "curator"])
def test_the_desk_shows_the_reports_to_staff(world: DonorWorld, who: str) -> None:
    client = signed_in(world.client, world.keys, who)
    page = client.get(DESK)
    assert page.status_code == 200
    html = accessible(page.text)
    head = world.museum.ledger.integrity.latest_head()
    assert head is not None
    assert f"<dt>Events</dt><dd>{head.tree_size}</dd>" in html
    assert head.root_hash.hex() in html
    assert world.museum.ledger.integrity.public_key_hex in html
    assert 'hx-post="/compliance/verification"' in html
    assert ">Verify now</button>" in html
    assert f'href="/compliance/runs/{world.run_id}"' in html
    assert "<strong>deployed</strong>" in html
    assert "6 stages of 2 donations by 2 donors" in html  # the training data summary
    assert "<strong>Consent basis:</strong> explicit opt-in consent" in html
    assert "1 attribution credited 2 artists." in html  # concentration over the last year
    assert "0 erasures: 0 open, 0 complete." in html
    assert 'href="/compliance/erasures"' in html
    assert "Compliance desk</a>" in html  # in the menu
    empty = client.get(DESK, params={"start": "2001-01-01", "end": "2001-02-01"})
    assert "Nothing was credited in this period." in empty.text
    backwards = client.get(DESK, params={"start": "2001-02-01", "end": "2001-01-01"})
    assert backwards.status_code == 422


@pytest.mark.parametrize("who", ["member", "integrator"])
def test_the_desk_refuses_others(world: DonorWorld, who: str) -> None:
    client = signed_in(world.client, world.keys, who)
    for path in (DESK, f"{DESK}/erasures", f"{DESK}/runs/{world.run_id}"):
        assert client.get(path).status_code == 403, path
    refused = client.post(f"{DESK}/verification", data={"_csrf_token": form_token(client)})
    assert refused.status_code == 403
    assert "Compliance desk</a>" not in client.get("/").text
    visitor = signed_in(world.client, world.keys, "visitor")
    away = visitor.get(DESK, follow_redirects=False)
    assert (away.status_code, away.headers["location"]) == (303, "/sign-in?next=/compliance")


def test_verify_now_gives_the_verdict_as_a_page_or_in_place(world: DonorWorld) -> None:
    client = signed_in(world.client, world.keys, "compliance")
    events = world.museum.ledger.integrity.size()
    page = client.post(f"{DESK}/verification", data={"_csrf_token": form_token(client)})
    assert page.status_code == 200
    html = accessible(page.text)
    assert "<h2>The ledger verifies</h2>" in html
    assert f"every one of the {events} events matches its leaf" in html
    assert "read models match" not in html
    swapped = client.post(
        f"{DESK}/verification",
        data={"projections": "yes"},
        headers={"HX-Request": "true", CSRF_HEADER: form_token(client)},
    )
    assert swapped.status_code == 200
    assert swapped.text.lstrip().startswith('<div class="notice" role="status">')
    assert "<html" not in swapped.text
    assert "<h3>The ledger verifies</h3>" in swapped.text  # under the desk's h2
    assert "The read models match a rebuild from the events" in swapped.text
    assert client.post(f"{DESK}/verification", data={}).status_code == 403  # no CSRF token
    bad = client.post(
        f"{DESK}/verification", data={"projections": "maybe", "_csrf_token": form_token(client)}
    )
    assert bad.status_code == 422


def test_verify_now_names_the_fault_of_a_tampered_ledger(sqlite_client: Client, keys: Keys) -> None:
    museum = museum_of(sqlite_client)
    ledger = museum.ledger
    ledger.integrity.sign_head()
    client = signed_in(sqlite_client, keys, "compliance")
    assert (
        "The ledger verifies"
        in client.post(f"{DESK}/verification", data={"_csrf_token": form_token(client)}).text
    )
    events = ledger.recorder.events_table_name  # type: ignore[attr-defined]
    with sqlite3.connect(museum.settings.sqlite_path) as connection:
        (rowid, state) = connection.execute(
            f"SELECT rowid, state FROM {events} ORDER BY rowid LIMIT 1 OFFSET 2"
        ).fetchone()
        flipped = bytes(state[:5]) + bytes([state[5] ^ 1]) + bytes(state[6:])
        connection.execute(f"UPDATE {events} SET state = ? WHERE rowid = ?", (flipped, rowid))
    connection.close()
    verdict = client.post(f"{DESK}/verification", data={"_csrf_token": form_token(client)})
    assert verdict.status_code == 200  # the verdict is the answer, not an error
    html = accessible(verdict.text)
    assert "<h2>The ledger does not verify</h2>" in html
    assert "(at position 2 of the log)" in html


def test_a_runs_consent_proof_checks_offline(world: DonorWorld) -> None:
    client = signed_in(world.client, world.keys, "compliance")
    page = client.get(f"{DESK}/runs/{world.run_id}")
    assert page.status_code == 200
    html = accessible(page.text)
    assert "6 stages of 2 donations" in html
    assert html.count("held</td>") == 6
    assert 'class="fault"' not in html
    assert len(re.findall(r"<td>yes</td>\s*<td>yes</td>", html)) == 2  # grants, held at start
    assert "The run left no donation of the ledger out." in html
    proof = client.get(f"{DESK}/runs/{world.run_id}/proof.json")
    assert proof.status_code == 200
    assert proof.headers["content-type"].startswith("application/json")
    assert proof.headers["content-disposition"] == (
        f'attachment; filename="consent-proof-{world.run_id}.json"'
    )
    report: dict[str, Any] = json.loads(proof.text)
    assert len(report["items"]) == 6
    assert len(report["consent_events"]) == 2
    key = world.museum.ledger.integrity.public_key_hex
    for evidence in report["consent_events"]:
        assert evidence["grants_train"]
        verify_receipt(evidence["receipt"], key)
    assert client.get(f"{DESK}/runs/{world.run_id}", params={"after": "nope"}).status_code == 422
    missing = client.get(f"{DESK}/runs/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")


def test_the_tracker_marks_overdue_erasures_first(world: DonorWorld) -> None:
    """The tracker's table as the template draws it, for one erasure past its deadline."""
    engine = world.client.app.template_engine
    assert engine is not None
    table = engine.engine.get_template("_erasures.html.j2").module.erasure_table
    lines = [
        ErasureReportLineRead(
            artist_id=name,
            artist=name,
            requested_at="2026-01-01T00:00:00+00:00",
            deadline="2026-01-31T00:00:00+00:00",
            completed_at=None,
            retraining_runs=[],
            awaiting_retraining_of=["7" * 36],
            overdue=name == "late",
            state="waiting",
            time_left_seconds=-2 * 86400 if name == "late" else 86400,
            retraining_due_at="2026-01-02T00:00:00+00:00",
            retraining_run=None,
        )
        for name in ("on-time", "late")
    ]
    progress = {
        "late": ErasureRead(
            artist_id="late",
            requested_at=None,
            deadline=None,
            key_shredded=True,
            completed=False,
            certificate=None,
            time_left_seconds=-2 * 86400 - 3 * 3600,
            overdue=True,
        ),
        "on-time": ErasureRead(
            artist_id="on-time",
            requested_at=None,
            deadline=None,
            key_shredded=True,
            completed=False,
            certificate=None,
            time_left_seconds=5 * 3600 + 60,
            retraining_run="8" * 36,
        ),
    }
    html = str(table(lines, progress))
    rows = re.findall(r"<tr(?: class=\"(\w+)\")?>\s*<td>([\w-]+) ", html)
    assert rows == [("overdue", "late"), ("", "on-time")]
    assert '<strong class="overdue">Overdue by 2 days, 3 hours</strong>' in html
    assert "5 hours left. Retraining run" in html
    assert f'href="/compliance/runs/{"8" * 36}"' in html
