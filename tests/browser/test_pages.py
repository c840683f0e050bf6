"""The pages in a real browser, as people use them: a donation through the form, the exhibition
with its credits, consent switched off in My museum (and the exhibition hiding those stages), a
statement downloaded, "erase me", the Atelier following a training run live, a visitor refused
the artists' pages, and a one-time sign-in link. Each test saves screenshots of what it saw."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import factories
from playwright.sync_api import Page, expect

from browser.conftest import ERASABLE, Site, museum_command, shoot

NewPage = Callable[[], Page]


def sign_in(page: Page, site: Site, name: str, then: str = "/") -> None:
    """Sign in through the form with the key of `name`, as a person pastes it."""
    page.goto(f"{site.url}/sign-in?next={then}")
    page.fill("#key", site.secrets[name])
    page.click("form.stack button[type=submit]")
    expect(page.locator(".who")).to_contain_text("Signed in as")


def test_a_donation_through_the_form(site: Site, new_page: NewPage) -> None:
    page = new_page()
    sign_in(page, site, "artist", "/donate")
    expect(page.locator("h1")).to_have_text("Donate a process")
    shoot(page, "donate-form")
    page.fill("#title", "Lighthouse in fog")
    page.fill("#creative_intent", "Paint the beam without painting the lamp")
    page.select_option("#failure_type", "concept")
    page.fill("#failure_note", "The fog swallowed the beam, then the tower.")
    page.select_option("#emotion", "curiosity")
    page.fill("#timezone", "Europe/Lisbon")
    for index, (role, made, shade) in enumerate(
        (("sketch", "2024-05-01T10:00", 31), ("final", "2024-05-03T18:30", 77))
    ):
        page.select_option(f"#stage-{index}-role", role)
        page.fill(f"#stage-{index}-made", made)
        page.set_input_files(
            f"#stage-{index}-image",
            {"name": f"{role}.png", "mimeType": "image/png", "buffer": factories.png(shade)},
        )
    page.check("#consent-exhibit")
    page.check("#consent-train")
    page.check("#affirmed")
    page.click("form.stack > button[type=submit]")
    expect(page.locator("h1")).to_have_text("Lighthouse in fog")
    expect(page.locator("p.notice")).to_contain_text("the museum has recorded your donation")
    expect(page.get_by_role("heading", name="Receipt")).to_be_visible()
    expect(page.locator("img[src*='/stages/1/image']")).to_be_visible()
    shoot(page, "donation-receipt")


def test_the_exhibition_with_its_credits(site: Site, new_page: NewPage) -> None:
    page = new_page()
    page.goto(site.url + "/")
    expect(page.locator("h1")).to_have_text("The exhibition")
    work = page.locator("li.work").first
    expect(work.locator(".shares")).to_contain_text("Pseudonym member")
    expect(work.locator(".shares")).to_contain_text("anonymous donor")
    expect(work.locator("svg.breakdown")).to_have_attribute("aria-label", re.compile("failure"))
    member = site.donations["member"]
    expect(work.locator(f"img[src^='/donations/{member}/stages/']").first).to_be_visible()
    shoot(page, "exhibition")
    work.locator("h2 a").click()
    expect(page.get_by_role("heading", name="Content credentials")).to_be_visible()
    facts = page.locator("dl.facts")
    expect(facts.first).to_contain_text("Ledger receipt")
    expect(facts.last).to_contain_text("Signed manifest (C2PA)")
    expect(facts.last).to_contain_text("trained algorithmic media")
    shoot(page, "work")


def test_a_consent_switch_hides_the_stages_from_the_exhibition(
    site: Site, new_page: NewPage
) -> None:
    donation = site.donations["other_artist"]
    stages = f"img[src^='/donations/{donation}/stages/']"
    visitor = new_page()
    visitor.goto(site.url + "/")
    expect(visitor.locator(stages).first).to_be_visible()
    page = new_page()
    sign_in(page, site, "other_artist", "/my-museum")
    expect(page.locator("h1")).to_have_text("My museum")
    page.evaluate("window.stillThisPage = true")
    switch = page.locator(
        f"#donation-{donation} form.switch:has(input[name=purpose][value=exhibit]) button"
    )
    expect(switch).to_have_attribute("aria-checked", "true")
    switch.click()
    switched = page.locator(
        f"#donation-{donation} form.switch:has(input[name=purpose][value=exhibit])"
    )
    expect(switched.locator("button")).to_have_attribute("aria-checked", "false")
    expect(switched.locator(".saved")).to_have_text("Saved: withdrawn.")
    assert page.evaluate("window.stillThisPage === true")  # swapped in place, not reloaded
    shoot(page, "my-museum-consent-off")
    visitor.reload()
    expect(visitor.locator(stages)).to_have_count(0)
    expect(visitor.locator("li.work").first).to_contain_text("do not exhibit them now")
    shoot(visitor, "exhibition-after-consent-off")


def test_a_statement_downloads_as_html_and_csv(site: Site, new_page: NewPage) -> None:
    page = new_page()
    sign_in(page, site, "member", "/my-museum")
    shoot(page, "my-museum")
    with page.expect_download() as html_download:
        page.get_by_role("button", name="Download as HTML").click()
    html = html_download.value
    assert re.fullmatch(
        r"statement-[0-9a-f-]+-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d\.html", html.suggested_filename
    )
    body = Path(html.path()).read_text(encoding="utf-8")
    assert "Pseudonym member" in body
    with page.expect_download() as csv_download:
        page.get_by_role("button", name="Download as CSV").click()
    rows = Path(csv_download.value.path()).read_text(encoding="utf-8").splitlines()
    assert len(rows) >= 2  # a header and the licence's line
    assert "EUR" in "\n".join(rows)


def test_erase_me_asks_for_the_pseudonym_then_erases(site: Site, new_page: NewPage) -> None:
    page = new_page()
    sign_in(page, site, "erasable", "/my-museum/erase")
    expect(page.locator("h1")).to_have_text("Erase me")
    page.fill("#pseudonym", "someone else")
    page.click("form.stack button[type=submit]")
    expect(page.locator("#problem")).to_contain_text("Nothing was erased")
    shoot(page, "erase-me-refused")
    page.fill("#pseudonym", ERASABLE)
    page.click("form.stack button[type=submit]")
    expect(page.locator("h1")).to_have_text("Your erasure")
    expect(page.locator("p.notice")).to_contain_text("your key is destroyed")
    expect(page.locator("dl.facts")).to_contain_text("Destroyed")
    shoot(page, "erasure-status")


def test_the_atelier_follows_a_training_run_live(site: Site, new_page: NewPage) -> None:
    page = new_page()
    sign_in(page, site, "founder", "/atelier")
    expect(page.locator("h1")).to_have_text("The AI Atelier")
    counter = page.locator("#atelier-counter")
    page.evaluate(
        """() => {
        window.stillThisPage = true;
        window.counts = [];
        const counter = document.querySelector('#atelier-counter');
        new MutationObserver(() => window.counts.push(counter.textContent.trim()))
            .observe(counter, {childList: true, subtree: true, characterData: true});
    }"""
    )
    training = subprocess.Popen(
        museum_command("train", "--preset", "tiny", "--steps", "100", "--job-id", "browser-live"),
        env=site.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        expect(counter).to_contain_text("Training: step", timeout=180_000)
        shoot(page, "atelier-training")
        expect(counter).to_have_text(re.compile(r"Completed: 100 steps"), timeout=180_000)
    finally:
        output, _ = training.communicate(timeout=180)
    assert training.returncode == 0, output.decode()
    assert page.evaluate("window.stillThisPage === true")  # every change came without a reload
    seen: list[str] = page.evaluate("window.counts")
    steps = [int(m.group(1)) for c in seen if (m := re.match(r"Training: step (\d+) of 100", c))]
    assert steps, seen
    assert steps == sorted(steps)
    points = page.locator("svg.loss-curve polyline").get_attribute("points") or ""
    assert len(points.split()) == 5  # the tiny preset logs every 20 of its 100 steps
    expect(page.locator(".run-heading h2")).to_contain_text("completed")
    shoot(page, "atelier-completed")
    page.locator(".run-heading a").click()  # the whole run, then its replay
    page.get_by_role("link", name="Replay its training").click()
    expect(counter).to_have_text(re.compile(r"Completed: 100 steps"), timeout=30_000)
    shoot(page, "atelier-replayed")


def test_a_visitor_is_refused_the_artists_pages(site: Site, new_page: NewPage) -> None:
    page = new_page()
    for path in ("/my-museum", "/donate", "/atelier"):
        page.goto(site.url + path)
        expect(page).to_have_url(re.compile(rf"/sign-in\?next={re.escape(path)}$"))
        expect(page.locator("h1")).to_have_text("Sign in")
    shoot(page, "visitor-sent-to-sign-in")
    sign_in(page, site, "integrator")
    answer = page.goto(site.url + "/my-museum")
    assert answer is not None
    assert answer.status == 403
    expect(page.locator("h1")).to_have_text("Not for you")
    shoot(page, "integrator-refused")
    member = new_page()
    sign_in(member, site, "member")
    refused = member.goto(site.url + "/atelier")  # the Atelier is for founding artists
    assert refused is not None
    assert refused.status == 403


def test_a_one_time_link_signs_in_once(site: Site, new_page: NewPage) -> None:
    page = new_page()
    page.goto(site.curator_link)
    expect(page.locator("main")).to_contain_text("signs you in as test curator (curator)")
    shoot(page, "sign-in-link")
    page.get_by_role("button", name="Sign in as test curator").click()
    expect(page.locator(".who")).to_contain_text("Signed in as test curator (curator)")
    again = new_page()
    answer = again.goto(site.curator_link)
    assert answer is not None
    assert answer.status == 410
    expect(again.locator("main")).to_contain_text("signs nobody in")


def test_a_donation_shows_how_others_moved_on_from_its_failure(
    site: Site, new_page: NewPage
) -> None:
    from ledger.runtime import opened_ledger
    from ledger.settings import Settings

    # Another donor's failure, of its own look, and a model of its own that has seen it.
    settings = Settings(home=site.env["MUSEUM_HOME"], master_key=site.env["MUSEUM_MASTER_KEY"])
    with opened_ledger(settings) as ledger:
        moth = ledger.register_artist(factories.artist("Lantern Moth"))
        ledger.donate(
            factories.donation(
                moth,
                stages=factories.stages("sketch", "failure", "revision", "final", shade=200),
                label=factories.label(title="Moth at the window", failure_note="Too much glow."),
            )
        )
    trained = subprocess.run(
        museum_command("train", "--preset", "tiny", "--steps", "10", "--job-id", "browser-similar"),
        env=site.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert trained.returncode == 0, trained.stderr

    page = new_page()
    page.goto(f"{site.url}/donations/{site.donations['member']}")
    expect(page.get_by_role("heading", name="How others moved on")).to_be_visible()
    moved_on = page.locator(".how-others ol.moved-on > li")  # swapped in by htmx on load
    moth_line = moved_on.filter(has_text="Lantern Moth")
    expect(moth_line).to_have_count(1, timeout=60_000)
    expect(moth_line).to_contain_text("“Too much glow.”")
    expect(moth_line).to_contain_text("revision")
    expect(moth_line.locator("img")).to_be_visible()
    shoot(page, "donation-how-others-moved-on")
    moth_line.get_by_role("link", name="Moth at the window").click()
    expect(page.locator("h1")).to_have_text("Moth at the window")
