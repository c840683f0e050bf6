"""`museum serve` (the HTTP API) and `museum keys …` (who may call it).

Imports of the app and the ledger happen inside the commands, so `--help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.console import json_line, out, say
from api.cli.ledger import configured_ledger

keys_app = typer.Typer(
    help="Issue, list, rotate and revoke API keys; rotate the master key.", no_args_is_help=True
)

ROLE_HELP = "artist, compliance, integrator or curator"


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option("--role", help=ROLE_HELP)],
    name: Annotated[str, typer.Option("--name", help='Whose key it is, e.g. "Print shop".')],
    artist: Annotated[
        str | None, typer.Option("--artist", help="The artist id an artist key speaks for.")
    ] = None,
    link: Annotated[
        bool, typer.Option("--link", help="Also print a one-time sign-in link for the pages.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Issue a key and print its secret, once: only its digest is kept."""
    from api.http.auth.keys import KeyStore
    from api.http.auth.links import SignInLinks
    from api.http.settings import get_http_settings
    from ledger.validation import identifier

    artist_id = None if artist is None else identifier(artist, "--artist")
    base_url = get_http_settings().public_url
    with configured_ledger() as ledger:
        if artist_id is not None:
            ledger.get_artist(artist_id)  # an unknown artist is refused before a key exists
        keys = KeyStore(ledger.engine)
        issued = keys.create(role, name, artist_id)
        signed = (
            SignInLinks(ledger.engine, keys).issue(issued.key.key_id, base_url) if link else None
        )
    if as_json:
        json_line(issued.as_builtins() | ({"link": signed.as_builtins()} if signed else {}))
        return
    key = issued.key
    say(f"key {key.key_id} for {key.name} ({key.role}); the secret is shown this once:")
    out.print(issued.secret, highlight=False, soft_wrap=True)
    if signed is not None:
        _print_link(signed.url, signed.expires_at)


def _print_link(url: str, expires_at: str) -> None:
    say(f"sign-in link (works once, until {expires_at}):")
    out.print(url, highlight=False, soft_wrap=True)


@keys_app.command("link")
def keys_link(
    key_id: Annotated[str, typer.Argument(help="The key id from `museum keys list`.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Print a one-time link that signs its holder into the pages as this key (15 minutes;
    the site's address is MUSEUM_HTTP_PUBLIC_URL)."""
    from api.http.auth.keys import KeyStore
    from api.http.auth.links import SignInLinks
    from api.http.settings import get_http_settings

    base_url = get_http_settings().public_url
    with configured_ledger() as ledger:
        signed = SignInLinks(ledger.engine, KeyStore(ledger.engine)).issue(key_id, base_url)
    if as_json:
        json_line(signed.as_builtins())
        return
    say(f"for key {signed.key_id}: {signed.name} ({signed.role})")
    _print_link(signed.url, signed.expires_at)


@keys_app.command("list")
def keys_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Every key issued, revoked ones included (secrets are never shown)."""
    from api.http.auth.keys import KeyStore

    with configured_ledger() as ledger:
        found = KeyStore(ledger.engine).list()
    if as_json:
        json_line({"keys": [key.as_builtins() for key in found]})
        return
    if not found:
        say("no keys issued yet (museum keys create --role … --name …)")
    for key in found:
        state = (
            f"revoked {key.revoked_at}"
            if key.revoked_at
            else f"replaced by {key.replaced_by}, works until {key.expires_at}"
            if key.replaced_by
            else "live"
        )
        whose = f" artist {key.artist_id}" if key.artist_id else ""
        say(f"{key.key_id}  {key.role:<10}  {key.name}{whose}  created {key.created_at}  {state}")


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id from `museum keys list`.")],
) -> None:
    """Revoke a key for good (it stays listed, with when it was revoked)."""
    from api.http.auth.keys import KeyStore

    with configured_ledger() as ledger:
        key = KeyStore(ledger.engine).revoke(key_id)
    say(f"key {key.key_id} ({key.name}) revoked at {key.revoked_at}")


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Server processes.")] = 1,
    access_log: Annotated[
        bool,
        typer.Option(
            "--access-log/--no-access-log",
            help="Log each request (a JSON line: method, route template, status, time, id).",
        ),
    ] = True,
) -> None:
    """Serve the museum's pages and the HTTP API (its docs at /api/docs) with uvicorn.

    Embedded by default (the SQLite ledger under MUSEUM_HOME, jobs in this process);
    PostgreSQL and Redis by MUSEUM_DATABASE_URL and MUSEUM_REDIS_URL. The schema is set up
    before the workers start, so they never race for it. Logs are JSON lines on stderr;
    probes at /healthz and /readyz, Prometheus metrics at /api/v1/metrics (staff keys)."""
    import uvicorn

    from api.http.settings import get_http_settings
    from api.observe.logs import json_log_config
    from ledger.runtime import migrate_ledger
    from ledger.settings import get_settings

    get_http_settings()  # a wrong MUSEUM_HTTP_* variable is named before anything starts
    migrate_ledger(get_settings())
    say(f"serving the museum on http://{host}:{port}/ (the API: /api/v1, its docs: /api/docs)")
    uvicorn.run(
        "api.http.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # the app logs each request itself, without its path or query
        log_config=json_log_config(requests=access_log),
        log_level="info",
    )


@keys_app.command("rotate")
def keys_rotate(
    key_id: Annotated[str, typer.Argument(help="The key id from `museum keys list`.")],
    overlap_hours: Annotated[
        int,
        typer.Option(
            "--overlap-hours", min=0, max=2160, help="How long the old key keeps working."
        ),
    ] = 24,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Issue a key's successor (same holder, role and artist) and print its secret, once; the
    old key works for the overlap more, then stops."""
    from datetime import timedelta

    from api.http.auth.keys import KeyStore

    with configured_ledger() as ledger:
        rotated = KeyStore(ledger.engine).rotate(key_id, timedelta(hours=overlap_hours))
    if as_json:
        json_line(rotated)
        return
    key = rotated.issued.key
    say(
        f"key {key.key_id} replaces {rotated.old.key_id} for {key.name} ({key.role}); "
        f"the old key works until {rotated.old.expires_at}. The new secret, shown this once:"
    )
    out.print(rotated.issued.secret, highlight=False, soft_wrap=True)


@keys_app.command("rotate-master")
def keys_rotate_master(
    new_key_file: Annotated[
        Path | None,
        typer.Option(
            "--new-key-file",
            help="The new master key: read if the file exists, else made there (mode 600). "
            "Without it, a key read from a file is rotated in place.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Move the museum to a new master key in one transaction: every artist data key re-wrapped
    (nothing re-encrypted), the leaf MAC and tree-head keys rolled over with a rotation signed
    by both keys; the old key is refused from then on. The new key is never printed."""
    from ledger.rotation import rotate_configured
    from ledger.settings import get_settings

    done = rotate_configured(get_settings(), new_key_file)
    if as_json:
        json_line(done)
        return
    say(
        f"master key rotated to generation {done.generation}: tree-head key {done.old_key_id} → "
        f"{done.new_key_id}, {done.artists_rewrapped:,} artist keys re-wrapped in "
        f"{done.seconds:.2f} s; first head of the new key: {done.first_new_head_id}"
    )
    say(f"the new master key is in {done.key_file}; the old one opens nothing any more")
    if new_key_file is not None:
        say("point MUSEUM_MASTER_KEY_FILE (or MUSEUM_MASTER_KEY) at the new key before restarting")


@keys_app.command("ring")
def keys_ring(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Every tree-head key the museum has signed with (retired ones too), to check old heads."""
    with configured_ledger() as ledger:
        found = ledger.integrity.signing_keys()
    if as_json:
        json_line({"keys": [key.as_builtins() for key in found]})
        return
    for key in found:
        since = f"from event {key.first_notification_id}" if key.generation else "from the start"
        state = "current" if key.current else "retired"
        say(f"generation {key.generation}  {key.key_id}  {state:<7}  {since}  {key.public_key}")
