"""The demo's visitors: an API key for each kind of person the museum serves, made once and
found again on every rerun, one-time sign-in links to the pages for them, and the site itself
(`museum serve`'s app, in this process).
"""

from __future__ import annotations

import contextlib
import socket
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from rich.console import Console

from api.demo_display import line
from api.http.auth.keys import KeyRead, KeyStore
from api.http.auth.links import SignInLinks
from ledger.application import MuseumLedger
from ledger.errors import ConfigurationError
from royalties.service import RoyaltyService
from royalties.split import ARTIST_PREFIX, artist_of

# A demo's links are for the person at this terminal; each still works once.
LINK_LIFETIME = timedelta(hours=12)
# Where the site's pages start, for each demo visitor (the Atelier is for founders and curators).
PEOPLE = (
    ("artist", "a donor who joined after the founding roll filled", "/donate"),
    ("founding artist", "a founding artist, credited in the exhibition", "/atelier"),
    ("curator", "a curator", "/atelier"),
    ("compliance", "compliance staff", "/"),
    ("integrator", "a platform integrator (the JSON API: /api/docs)", "/"),
)


@dataclass(frozen=True)
class DemoKey:
    person: str
    who: str
    start: str
    key: KeyRead
    secret: str | None  # only in the run that made the key


def _name(person: str) -> str:
    return f"demo {person}"


def _artists(ledger: MuseumLedger) -> tuple[UUID, UUID]:
    """The founding artist and the later donor with the largest balances (erased donors and
    held balances left out); without a later donor, the founding artist twice."""
    balances = RoyaltyService(ledger).balances()
    ranked = sorted(
        (row for row in balances if row.account.startswith(ARTIST_PREFIX) and not row.held),
        key=lambda row: (-row.balance, row.account),
    )
    founding: UUID | None = None
    later: UUID | None = None
    candidates = [artist_of(row.account) for row in ranked] + ledger.artist_ids()
    for artist_id in candidates:
        artist = ledger.get_artist(artist_id)
        if artist.erased:
            continue
        if artist.founding and founding is None:
            founding = artist_id
        elif not artist.founding and later is None:
            later = artist_id
    if founding is None:
        raise ConfigurationError("the demo collection has no founding artist to sign in as")
    return founding, later or founding


def demo_keys(ledger: MuseumLedger) -> list[DemoKey]:
    """A live key per demo visitor: the one made by an earlier run, or a new one."""
    store = KeyStore(ledger.engine)
    live = {(k.name, k.role): k for k in store.list() if k.revoked_at is None}
    founding, later = _artists(ledger)
    found = []
    for person, who, start in PEOPLE:
        role = "artist" if person.endswith("artist") else person
        artist_id = {"artist": later, "founding artist": founding}.get(person)
        key = live.get((_name(person), role))
        secret = None
        if key is None:
            issued = store.create(role, _name(person), artist_id)
            key, secret = issued.key, issued.secret
        found.append(DemoKey(person, who, start, key, secret))
    return found


def sign_in_links(ledger: MuseumLedger, keys: list[DemoKey], base_url: str) -> list[str]:
    """A fresh one-time link per key (a link used up by an earlier run is worth nothing)."""
    links = SignInLinks(ledger.engine, KeyStore(ledger.engine))
    return [links.issue(k.key.key_id, base_url, LINK_LIFETIME).url for k in keys]


def print_visitors(console: Console, keys: list[DemoKey], links: list[str], base_url: str) -> None:
    line(console, f"the museum: {base_url}/ (the exhibition) · {base_url}/atelier (the AI Atelier)")
    line(console, f"the JSON API and its documentation: {base_url}/api/docs")
    line(console, "sign in as (each link works once, for 12 hours):")
    for key, url in zip(keys, links, strict=True):
        line(console, f"  {key.person} — {key.who}; then {base_url}{key.start}")
        line(console, f"    {url}")


def print_new_secrets(console: Console, keys: list[DemoKey]) -> None:
    """The secrets of keys this run made: shown once, as `museum keys create` does."""
    for key in keys:
        if key.secret is not None:
            line(
                console,
                f"API key of the demo {key.person} (shown this once; "
                f"`museum keys create` makes more): {key.secret}",
            )


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def serve_site(host: str, port: int) -> None:
    """`museum serve` in this process, until Ctrl-C. Open event streams get a few seconds to
    end when it stops (the Atelier's browsers reconnect to the next server)."""
    import uvicorn

    config = uvicorn.Config(
        "api.http.app:create_app",
        factory=True,
        host=host,
        port=port,
        access_log=False,  # the sign-in links' tokens stay out of the log
        log_level="warning",
        timeout_graceful_shutdown=3,
    )
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn raises Ctrl-C again once stopped
        uvicorn.Server(config).run()
