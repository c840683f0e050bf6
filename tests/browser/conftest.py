"""A real browser (Debian's chromium, driven by Playwright) on a real `museum serve`.

Once per test session (per xdist worker): a small museum is prepared on a fresh SQLite ledger —
the exhibition of `httpapi.exhibition_world` (the keys' donations and an anonymous donor's,
one generation credited to all of them), a second work of `httpapi.money_world` with a print
licence booked on it, and one more donor to erase — then `museum serve` starts on a free port
over it. Each test opens its own browser context (no cookies shared) and signs in the way a
person does.

Screenshots of every page a test looks at land in `test-artifacts/browser/` (ignored by git);
the path is printed at the end of the run. Chromium comes from the system (`apt-get install
chromium`, as `.ci/run` does when it is missing); Playwright's own browser download is never
used.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import factories
import pytest
from httpapi.exhibition_world import exhibition_world
from httpapi.money_world import money_world
from httpapi.pages import secret_of
from litestar.testing import TestClient
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from api.http.app import create_app
from api.http.settings import HttpSettings
from ledger.crypto import MasterKey
from ledger.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ERASABLE = "Erasable Finch"
LICENCE_MINOR = 4900


@dataclass(frozen=True)
class Site:
    """The served museum: its address, the environment its commands run with, the secrets of
    the keys of `httpapi.conftest.issue_keys` (and `erasable`), and the world's ids."""

    url: str
    env: dict[str, str]
    secrets: dict[str, str]
    donations: dict[str, str]
    generation_id: str
    curator_link: str


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def museum_command(*args: str) -> list[str]:
    return [sys.executable, "-c", "from api.cli import main; main()", *args]


def _prepare(settings: Settings, url: str) -> tuple[dict[str, str], dict[str, str], str, str]:
    """The exhibition, a licence booked on its work, a donor to erase, a curator's link."""
    with TestClient(create_app(settings, HttpSettings(key_cache_seconds=0))) as client:
        gallery = exhibition_world(client)
        museum = gallery.museum
        keys = gallery.keys
        secrets = {name: secret_of(keys, name) for name in keys.headers if name != "visitor"}
        # A second work, made once the members share in commercial use: its licence earns.
        money = money_world(museum, keys)
        museum.royalties.report_revenue(
            generation_id=UUID(money.generation_id),
            amount_minor=LICENCE_MINOR,
            currency="EUR",
            reference="a print licence, booked for the browser tests",
            idempotency_key="browser-licence",
        )
        finch = museum.ledger.register_artist(factories.artist(ERASABLE))
        museum.ledger.donate(
            factories.donation(finch, stages=factories.stages("sketch", "final", shade=140))
        )
        secrets["erasable"] = museum.keys.create("artist", "test erasable", finch).secret
        curator = next(k.key_id for k in museum.keys.list() if k.name == "test curator")
        link = museum.links.issue(curator, url, timedelta(hours=1)).url
        donations = dict(keys.donation_ids) | {"anonymous": gallery.anonymous_donation}
        return secrets, donations, gallery.generation_id, link


def _wait_until_up(url: str, server: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"museum serve ended with {server.returncode} before it served")
        try:
            with urllib.request.urlopen(f"{url}/api/v1/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"museum serve did not answer on {url} within {seconds} s")


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    home = tmp_path_factory.mktemp("browser") / "var"
    key = MasterKey.generate_text()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    secrets, donations, generation_id, link = _prepare(Settings(home=home, master_key=key), url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSEUM_")} | {
        "MUSEUM_HOME": str(home),
        "MUSEUM_MASTER_KEY": key,
        "MUSEUM_HTTP_KEY_CACHE_SECONDS": "0",
        "MUSEUM_HTTP_RATE_LIMIT": "100000/minute",
        "MUSEUM_HTTP_PUBLIC_URL": url,
    }
    log = (home.parent / "serve.log").open("wb")
    server = subprocess.Popen(
        museum_command("serve", "--port", str(port), "--no-access-log"),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_until_up(url, server)
        yield Site(url, env, secrets, donations, generation_id, link)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Module scope: Playwright's sync API runs an event loop in this thread while it lives, and
    later tests of this process (asyncio.run in the job client's) must not find it running."""
    if not CHROMIUM.exists():
        pytest.fail(
            "the browser tests need Debian's chromium: apt-get update && apt-get install -y "
            "chromium (.ci/run installs it when it is missing)"
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=FLAGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[[], Page]]:
    """`new_page()`: a page in a fresh browser context (its own cookies), closed after the test."""
    contexts: list[BrowserContext] = []

    def make() -> Page:
        context = browser.new_context(viewport={"width": 1000, "height": 800})
        context.set_default_timeout(30_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def shoot(page: Page, name: str) -> Path:
    """A full-page screenshot of `page` as test-artifacts/browser/NAME.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if ARTIFACTS.exists() and any(ARTIFACTS.glob("*.png")):
        terminalreporter.write_line(f"browser screenshots: {ARTIFACTS}")
