"""Accessibility of every page: labels on each form control, headings in order, alt text, and
colours with enough contrast (WCAG 2: 4.5:1 for text, 3:1 for the breakdown's fills)."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import TestClient

from api.web.rendering import STATIC
from httpapi.accessibility import colours, contrast, problems
from httpapi.conftest import Keys, museum_of
from httpapi.exhibition_world import Gallery
from httpapi.pages import form_token, signed_in

Client = TestClient[Litestar]


def test_the_checker_finds_what_it_should() -> None:
    good = '<html lang="en"><h1>A</h1><h2>B</h2><label for="x">X</label><input id="x"></html>'
    assert problems(good) == []
    assert problems(good.replace(' lang="en"', "")) == ["<html> has no lang"]
    assert problems(good.replace("<h2>B</h2>", "<h3>B</h3>")) == [
        "h3 follows h1: a level is skipped"
    ]
    assert "<input name=None> has no label" in problems(good.replace('for="x"', 'for="y"'))
    assert (
        problems(good.replace('<input id="x">', '<label>Y <select name="s"></select></label>'))
        == []
    )
    assert problems(good + '<textarea aria-label="Note"></textarea>') == []
    assert "<textarea name='n'> has no label" in problems(good + '<textarea name="n"></textarea>')
    assert "<img src='/a.png'> has no alt text" in problems(good + '<img src="/a.png">')
    assert "a <button> has no text" in problems(good + "<button> </button>")
    assert "2 h1 headings; a page has exactly one" in problems(good + "<h1>again</h1>")
    assert "id 'x' is used 2 times" in problems(good + '<p id="x"></p>')
    assert problems(good + '<input type="hidden" name="t">') == []


def test_every_page_is_labelled_and_in_order(
    gallery: Gallery,
    sqlite_client: Client,
    keys: Keys,
) -> None:
    visitor = gallery.client
    pages = {
        "exhibition": visitor.get("/"),
        "work": visitor.get(f"/works/{gallery.generation_id}"),
        "sign-in": visitor.get("/sign-in"),
        "not found": visitor.get("/no/such/page"),
        "refused link": visitor.get("/sign-in/link?token=nothing"),
    }
    museum = museum_of(sqlite_client)
    key_id = next(k.key_id for k in museum.keys.list() if k.name == "test curator")
    link = museum.links.issue(key_id, "")
    pages["link"] = sqlite_client.get(link.url)
    client = signed_in(sqlite_client, keys, "member")
    pages["donate"] = client.get("/donate")
    pages["donate, refused"] = client.post("/donate", data={"_csrf_token": form_token(client)})
    pages["donation"] = client.get(f"/donations/{keys.donation_ids['member']}?donated=1")
    pages["exhibition, signed in"] = client.get("/")
    pages["sign-in, refused"] = client.post(
        "/sign-in", data={"key": "wrong", "_csrf_token": form_token(client)}
    )
    pages["not allowed"] = signed_in(sqlite_client, keys, "integrator").get("/donate")
    found = {}
    for name, page in pages.items():
        assert page.headers["content-type"].startswith("text/html"), name
        found[name] = problems(page.text)
    assert found == {name: [] for name in pages}
    assert pages["not allowed"].status_code == 403
    assert pages["donate, refused"].status_code == 422


def test_the_colours_have_enough_contrast() -> None:
    palette = colours((STATIC / "museum.css").read_text())
    text_pairs = [
        ("ink", "paper"),
        ("muted", "paper"),
        ("accent", "paper"),
        ("accent-ink", "accent"),
        ("alert-ink", "alert-paper"),
        ("notice-ink", "notice-paper"),
    ]
    low = {
        f"{fg} on {bg}": round(contrast(palette[fg], palette[bg]), 2)
        for fg, bg in text_pairs
        if contrast(palette[fg], palette[bg]) < 4.5
    }
    assert low == {}
    fills = ["sketch", "attempt", "failure", "revision", "final"]
    faint = {
        f: round(contrast(palette[f], palette["paper"]), 2)
        for f in fills
        if contrast(palette[f], palette["paper"]) < 3.0
    }
    assert faint == {}
    assert contrast("#777777", "#ffffff") < 4.5  # the measure itself can refuse a colour
