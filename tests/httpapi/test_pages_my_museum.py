"""My museum: an artist's own donations with consent switches, feedback, credits, earnings and
statements; nobody else's, and nobody else sees it. Erase me, its status and certificate."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from api.web.frame import CSRF_HEADER
from httpapi.accessibility import colours, contrast, problems
from httpapi.conftest import Keys, museum_of
from httpapi.donor_world import FEEDBACK_NEXT, DonorWorld, shared_museum
from httpapi.money_world import money_world
from httpapi.pages import form_token, links_of, signed_in
from ledger.certificate_check import verify_certificate
from ledger.certificate_format import CERTIFICATE_KIND
from ledger.vocabulary import Purpose
from royalties.statement import CSV_COLUMNS

Client = TestClient[Litestar]
HOME = "/my-museum"
PERIOD = {"start": "2000-01-01", "end": "2100-01-01"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DonorWorld]:
    with shared_museum(tmp_path_factory.mktemp("my-museum") / "var") as built:
        yield built


def accessible(html: str) -> str:
    assert problems(html) == []
    return html


def switch_of(html: str, donation_id: str, purpose: str) -> str:
    """The aria-checked of one consent switch on a page (or fragment)."""
    forms = re.findall(r'<form class="switch".*?</form>', html, re.S)
    [found] = [f for f in forms if f"/{donation_id}/consent" in f and f'value="{purpose}"' in f]
    [checked] = re.findall(r'aria-checked="(true|false)"', found)
    return str(checked)


def test_my_museum_shows_the_artist_their_own_records(world: DonorWorld) -> None:
    keys = world.keys
    client = signed_in(world.client, keys, "member")
    page = client.get(HOME)
    assert page.status_code == 200
    html = accessible(page.text)
    mine, theirs = keys.donation_ids["member"], keys.donation_ids["other_artist"]
    assert "Pseudonym member" in html
    assert "Ana Lucía Ruiz" in html  # personal data, to its owner only
    assert "ana.ruiz@example.org" in html
    assert f'id="donation-{mine}"' in html
    assert theirs not in html
    assert [switch_of(html, mine, p.value) for p in Purpose] == ["true", "true", "true", "false"]
    assert FEEDBACK_NEXT in html
    assert "stage 2 · Curator Okonkwo" in html
    assert f'src="/works/{world.generation_id}/image"' in html
    assert re.search(r"<strong>\d+\.\d %</strong> of the credit · trak", html)
    chart = re.search(r'<svg class="chart".*?</svg>', html, re.S)
    assert chart is not None
    assert len(re.findall(r'<rect class="bar"', chart.group())) == 12
    assert "50.00 EUR" in chart.group()  # this month's earnings, in the chart's name
    assert 'action="/my-museum/statement.html"' in html
    assert 'formaction="/my-museum/statement.csv"' in html
    assert 'href="/my-museum/erase"' in html
    for link in links_of(html):
        assert link.startswith(("/", "#")), link
        assert not link.startswith("//"), link
        if link.startswith(("/works/", "/donations/")) or link.startswith(f"{HOME}/statement.csv?"):
            assert client.get(link).status_code == 200, link


def test_another_artist_sees_only_their_own(world: DonorWorld) -> None:
    keys = world.keys
    client = signed_in(world.client, keys, "other_artist")
    html = accessible(client.get(HOME).text)
    assert keys.donation_ids["member"] not in html
    assert keys.donation_ids["other_artist"] in html
    assert FEEDBACK_NEXT not in html
    # A switch on someone else's donation answers as if it did not exist, and changes nothing.
    mine = keys.donation_ids["member"]
    refused = client.post(
        f"{HOME}/donations/{mine}/consent",
        data={"purpose": "exhibit", "change": "revoke", "_csrf_token": form_token(client)},
    )
    assert refused.status_code == 404
    assert refused.headers["content-type"].startswith("text/html")
    assert world.museum.ledger.get_donation(UUID(mine)).consent_holds(Purpose.EXHIBIT)


def test_an_artist_without_donations_has_an_empty_museum(world: DonorWorld) -> None:
    client = signed_in(world.client, world.keys, "artist")
    html = accessible(client.get(HOME).text)
    assert "You have not donated yet" in html
    assert "No feedback yet" in html
    assert "No generated work has been credited to you yet" in html
    assert "Nothing earned in the last twelve months" in html


@pytest.mark.parametrize("who", ["compliance", "curator", "integrator"])
def test_staff_and_integrators_are_refused(world: DonorWorld, who: str) -> None:
    client = signed_in(world.client, world.keys, who)
    for path in (HOME, f"{HOME}/erase", f"{HOME}/erasure", f"{HOME}/statement.csv"):
        assert client.get(path, params=PERIOD).status_code == 403, path


def test_a_visitor_is_sent_to_sign_in(world: DonorWorld) -> None:
    client = signed_in(world.client, world.keys, "visitor")
    answer = client.get(HOME, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in?next=/my-museum"
    assert "My museum" not in client.get("/").text  # nor is it in the menu


def test_a_consent_switch_changes_the_ledger_in_place_or_by_a_plain_post(
    world: DonorWorld,
) -> None:
    keys = world.keys
    client = signed_in(world.client, keys, "other_artist")
    donation_id = keys.donation_ids["other_artist"]
    ledger = world.museum.ledger
    action = f"{HOME}/donations/{donation_id}/consent"
    assert ledger.get_donation(UUID(donation_id)).consent_holds(Purpose.EXHIBIT)
    # Without JavaScript: a form post, then back to the page, which shows the switch off.
    plain = client.post(
        action,
        data={"purpose": "exhibit", "change": "revoke", "_csrf_token": form_token(client)},
        follow_redirects=False,
    )
    assert plain.status_code == 303
    assert plain.headers["location"] == f"{HOME}?saved={donation_id}#donation-{donation_id}"
    assert not ledger.get_donation(UUID(donation_id)).consent_holds(Purpose.EXHIBIT)
    back = client.get(plain.headers["location"])
    assert switch_of(back.text, donation_id, "exhibit") == "false"
    assert '<p class="notice" role="status">Saved.</p>' in back.text
    # With htmx: the switch alone comes back, to be swapped in place.
    swapped = client.post(
        action,
        data={"purpose": "exhibit", "change": "grant"},
        headers={"HX-Request": "true", CSRF_HEADER: form_token(client)},
    )
    assert swapped.status_code == 200
    assert swapped.text.lstrip().startswith('<form class="switch"')
    assert "<html" not in swapped.text
    assert switch_of(swapped.text, donation_id, "exhibit") == "true"
    assert "Saved: allowed." in swapped.text
    assert 'name="_csrf_token"' in swapped.text  # the swapped switch posts again
    assert ledger.get_donation(UUID(donation_id)).consent_holds(Purpose.EXHIBIT)
    # Without the CSRF token (or with a forged one) nothing changes.
    for data, headers in (
        ({"purpose": "exhibit", "change": "revoke"}, {}),
        ({"purpose": "exhibit", "change": "revoke"}, {"HX-Request": "true"}),
        ({"purpose": "exhibit", "change": "revoke", "_csrf_token": "0" * 128}, {}),
    ):
        refused = client.post(action, data=data, headers=headers)
        assert refused.status_code == 403
        assert ledger.get_donation(UUID(donation_id)).consent_holds(Purpose.EXHIBIT)
    bad = client.post(
        action, data={"purpose": "exhibit", "change": "flip", "_csrf_token": form_token(client)}
    )
    assert bad.status_code == 422
    unknown = client.post(
        action, data={"purpose": "sell", "change": "grant", "_csrf_token": form_token(client)}
    )
    assert unknown.status_code == 422


def test_statements_download_as_html_and_csv(world: DonorWorld) -> None:
    keys = world.keys
    client = signed_in(world.client, keys, "member")
    artist_id = keys.artist_ids["member"]
    html = client.get(f"{HOME}/statement.html", params=PERIOD)
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert html.headers["content-disposition"] == (
        f'attachment; filename="statement-{artist_id}-2000-01-01-2100-01-01.html"'
    )
    assert "Royalty statement: Pseudonym member" in html.text
    assert "50.00 EUR" in html.text
    assert world.generation_id in html.text
    table = client.get(f"{HOME}/statement.csv", params=PERIOD)
    assert table.status_code == 200
    assert table.headers["content-type"].startswith("text/csv")
    assert table.headers["content-disposition"].endswith('2100-01-01.csv"')
    rows = list(csv.reader(io.StringIO(table.text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert {row[0] for row in rows[1:]} == {artist_id}
    assert sum(int(row[5]) for row in rows[1:]) == 5000
    # Another artist's statement holds their own lines only.
    theirs = signed_in(world.client, keys, "other_artist").get(
        f"{HOME}/statement.csv", params=PERIOD
    )
    assert artist_id not in theirs.text
    backwards = client.get(
        f"{HOME}/statement.csv", params={"start": "2026-02-01", "end": "2026-01-01"}
    )
    assert backwards.status_code == 422
    assert "must end after it starts" in backwards.text
    assert client.get(f"{HOME}/statement.csv").status_code == 422  # no period


@pytest.fixture
def erasing(sqlite_client: Client, keys: Keys) -> DonorWorld:
    """A world of its own: erasures cannot be undone."""
    money = money_world(sqlite_client, keys)
    run_id = str(
        museum_of(sqlite_client).models.get_generation(UUID(money.generation_id)).model_version
    )
    return DonorWorld(sqlite_client, keys, money.generation_id, run_id)


def test_erase_me_asks_first_then_shows_where_it_stands(erasing: DonorWorld) -> None:
    client = signed_in(erasing.client, erasing.keys, "member")
    ledger = erasing.museum.ledger
    artist_id = UUID(erasing.keys.artist_ids["member"])
    form = client.get(f"{HOME}/erase")
    assert "To confirm, type your pseudonym: <strong>Pseudonym member</strong>" in accessible(
        form.text
    )
    for typed in ("", "pseudonym member", "Pseudonym"):
        refused = client.post(
            f"{HOME}/erase", data={"pseudonym": typed, "_csrf_token": form_token(client)}
        )
        assert refused.status_code == 422, typed
        assert "Nothing was erased" in accessible(refused.text)
    assert client.post(f"{HOME}/erase", data={"pseudonym": "Pseudonym member"}).status_code == 403
    assert not ledger.get_artist(artist_id).erased
    asked = client.post(
        f"{HOME}/erase",
        data={
            "pseudonym": " Pseudonym member ",
            "reason": "moving on",
            "_csrf_token": form_token(client),
        },
        follow_redirects=False,
    )
    assert asked.status_code == 303
    assert asked.headers["location"] == f"{HOME}/erasure?asked=1"
    assert ledger.get_artist(artist_id).key_shredded
    status = accessible(client.get(asked.headers["location"]).text)
    assert "The museum has recorded your request" in status
    # The deployed model learned from the member's stages: the erasure waits for retraining.
    assert re.search(r"(29|30) days?(, \d+ hours?)? left", status)
    assert "Waiting for the retraining due at" in status
    assert "certificate.json" not in status
    assert client.get(f"{HOME}/erasure/certificate.json").status_code == 404
    again = client.post(
        f"{HOME}/erase",
        data={"pseudonym": "Pseudonym member", "_csrf_token": form_token(client)},
    )
    assert again.status_code == 409
    assert "You have already asked to be erased: nothing more was done" in accessible(again.text)
    assert 'href="/my-museum/erasure"' in again.text
    home = accessible(client.get(HOME).text)
    assert "You asked to be erased" in home
    assert "Withdrawn for erasure" in home
    assert 'class="switch"' not in home
    assert "Ana Lucía Ruiz" not in home  # the key is gone: so is the identity
    assert "You have asked the museum to erase you" in client.get(f"{HOME}/erase").text


def test_an_erasure_nothing_learned_from_completes_with_its_certificate(
    erasing: DonorWorld,
) -> None:
    client = signed_in(erasing.client, erasing.keys, "artist")  # never donated
    artist_id = erasing.keys.artist_ids["artist"]
    assert "You have not asked to be erased" in accessible(client.get(f"{HOME}/erasure").text)
    asked = client.post(
        f"{HOME}/erase",
        data={"pseudonym": "Pseudonym artist", "_csrf_token": form_token(client)},
    )
    assert asked.status_code == 200  # followed to the status
    assert "<strong>Complete.</strong>" in accessible(asked.text)
    assert 'href="/my-museum/erasure/certificate.json"' in asked.text
    certificate = client.get(f"{HOME}/erasure/certificate.json")
    assert certificate.status_code == 200
    assert certificate.headers["content-type"].startswith("application/json")
    assert certificate.headers["content-disposition"] == (
        f'attachment; filename="erasure-certificate-{artist_id}.json"'
    )
    document = json.loads(certificate.text)
    assert document["kind"] == CERTIFICATE_KIND
    assert document["artist_id"] == artist_id
    checked = verify_certificate(document, erasing.museum.ledger.integrity.public_key_hex)
    assert checked.artist_id == artist_id  # the download checks offline, signature and all
    # The compliance desk's tracker follows both erasures.
    client = signed_in(erasing.client, erasing.keys, "member")
    client.post(
        f"{HOME}/erase", data={"pseudonym": "Pseudonym member", "_csrf_token": form_token(client)}
    )
    desk = signed_in(erasing.client, erasing.keys, "compliance")  # the same client, signed in anew
    tracker = accessible(desk.get("/compliance/erasures").text)
    assert "2 erasures: 1 open, 1 complete." in tracker
    assert re.search(r"(29|30) days?(, \d+ hours?)? left\. Retraining due \d", tracker)
    assert "to be retrained." in tracker


def test_the_colours_these_pages_add_are_readable() -> None:
    """WCAG AA (4.5:1) for the pairs the switches, the chart, the danger button and the
    overdue rows draw with (`museum.css`)."""
    css = (Path(__file__).parents[2] / "api" / "web" / "static" / "museum.css").read_text()
    c = colours(css)
    pairs = [
        (c["ink"], c["line"]),  # a switch that is off
        (c["accent-ink"], c["accent"]),  # a switch that is on
        (c["muted"], c["paper"]),  # the chart's labels
        ("#ffffff", c["alert-ink"]),  # Erase me
        (c["alert-ink"], c["alert-paper"]),  # an overdue row
        (c["notice-ink"], c["paper"]),  # "Saved"
    ]
    for foreground, background in pairs:
        assert contrast(foreground, background) >= 4.5, (foreground, background)
    assert "#ffffff; }" in css.split("button.danger", 1)[1].split("\n", 1)[0]
