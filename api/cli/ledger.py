"""`museum ledger …`: inspect and prove the verifiable event log; and `museum migrate`, which
sets its schema up. Imports of the ledger happen inside the commands, so `--help` stays fast."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.console import json_line, out, print_json, say
from api.cli.options import INT64

if TYPE_CHECKING:
    from ledger.application import MuseumLedger

ledger_app = typer.Typer(help="Inspect and prove the verifiable event log.", no_args_is_help=True)


@contextmanager
def configured_ledger() -> Iterator[MuseumLedger]:
    """The ledger of the configured settings, closed when the command is done."""
    from ledger.runtime import opened_ledger
    from ledger.settings import get_settings

    with opened_ledger(get_settings()) as ledger:
        yield ledger


@ledger_app.command("verify")
def ledger_verify(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    against: Annotated[
        list[Path] | None,
        typer.Option(
            "--against",
            help="A receipt, signed head or erasure certificate handed out earlier: the log "
            "must still extend it (repeatable).",
        ),
    ] = None,
    projections: Annotated[
        bool,
        typer.Option("--projections", help="Also compare the read models with a rebuild."),
    ] = False,
) -> None:
    """Recompute every leaf, head, blob and key from the store, verify every erasure certificate
    and that no deployed model holds a certified erasure's stages; non-zero exit names the first
    fault."""
    from ledger import upkeep
    from ledger.audit import full_audit
    from ledger.errors import LedgerError
    from ledger.settings import get_settings
    from royalties.audit import compare
    from royalties.projection import PostingsProjection

    read_models = {"royalty_postings": lambda museum: compare(PostingsProjection(museum))}
    home = get_settings().home
    with configured_ledger() as museum:
        try:
            figures = full_audit(museum, against or [], read_models if projections else None)
        except LedgerError as exc:  # noted for `museum doctor`, then reported as ever
            upkeep.note(home, "verify", False, {"error": str(exc)})
            raise
    upkeep.note(home, "verify", True, {"events": figures.events})
    if as_json:
        json_line(figures)
        return
    extra = f", {len(figures.against)} outside proofs held" if figures.against else ""
    if figures.projections is not None:
        counts = ", ".join(
            f"{model['rows']:,} {name.replace('_', ' ')} rows"
            for name, model in figures.projections.items()
        )
        extra += f", every read model agrees with a rebuild ({counts})"
    out.print(
        f"ledger verified: {figures.events} events, {figures.signed_heads_checked} signed "
        f"heads checked, {figures.events_per_second:,.0f} events/s, "
        f"{figures.blobs_checked} blobs re-hashed ({figures.blobs_referenced} referenced), "
        f"{figures.keys_present} artist keys present and {figures.keys_shredded} "
        f"shredded as recorded, {figures.erasures_certified} erasures certified "
        f"({figures.certificates_verified} certificates verified, "
        f"{figures.deployed_versions_checked} deployed versions hold none of their stages), "
        f"{figures.erasures_awaiting_retraining} open erasures awaiting retraining{extra}",
        soft_wrap=True,
    )


@ledger_app.command("rebuild")
def ledger_rebuild(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Rebuild the ledger's read models (consent status, credits, artist directory) from the events."""
    from ledger.read_models import read_models

    with configured_ledger() as museum:
        written = {name: model.rebuild() for name, model in read_models(museum).items()}
    if as_json:
        json_line(written)
        return
    counts = ", ".join(
        f"{name.replace('_', ' ')}: {rows:,} changes" for name, rows in written.items()
    )
    out.print(f"read models rebuilt from the events ({counts})")


@ledger_app.command("head")
def ledger_head(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Sign a tree head over everything recorded so far (if anything is new) and print it."""
    with configured_ledger() as museum:
        head = museum.integrity.sign_head().as_dict()
        head |= {"public_key": museum.integrity.public_key_hex}
    if as_json:
        json_line(head)
    else:
        print_json(head)


@ledger_app.command("proof")
def ledger_proof(
    event: Annotated[str, typer.Argument(help="Notification id, or ORIGINATOR_ID:VERSION.")],
) -> None:
    """Print a receipt: the event as stored, its inclusion path and a signed head."""
    from uuid import UUID

    with configured_ledger() as museum:
        if ":" in event:
            originator, _, version = event.partition(":")
            try:
                receipt = museum.integrity.receipt_for(UUID(originator), int(version))
            except ValueError:
                raise typer.BadParameter("expected ORIGINATOR_ID:VERSION, e.g. 3f0c…:1") from None
        else:
            try:
                receipt = museum.integrity.receipt(int(event))
            except ValueError:
                raise typer.BadParameter("expected a notification id (a whole number)") from None
    json_line(receipt, indent=2)


@ledger_app.command("consistency")
def ledger_consistency(
    old_size: Annotated[
        int, typer.Argument(min=0, max=INT64, help="Size of the older signed head.")
    ],
    new_size: Annotated[
        int | None, typer.Argument(min=0, max=INT64, help="Size of the newer head (default: now).")
    ] = None,
) -> None:
    """Print a consistency proof that the log of OLD_SIZE is a prefix of the log of NEW_SIZE."""
    with configured_ledger() as museum:
        proof = museum.integrity.consistency(old_size, new_size)
    json_line(proof, indent=2)


@ledger_app.command("check-receipt")
def ledger_check_receipt(
    receipt_file: Annotated[Path, typer.Argument(help="Receipt JSON.")],
    public_key: Annotated[
        str, typer.Option(help="The museum's public key (hex), obtained out of band.")
    ],
) -> None:
    """Verify a receipt offline: no database is opened."""
    from ledger.receipt import load_receipt, verify_receipt

    receipt = load_receipt(receipt_file)
    verify_receipt(receipt, public_key)
    out.print(
        f"receipt verified: event {receipt['event']['notification_id']} is in the log of "
        f"size {receipt['head']['tree_size']}"
    )


@ledger_app.command("check-certificate")
def ledger_check_certificate(
    certificate_file: Annotated[
        Path,
        typer.Argument(
            help="Erasure certificate JSON: the download, or an erasure status holding one."
        ),
    ],
    public_key: Annotated[
        str, typer.Option(help="The museum's public key (hex), obtained out of band.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Verify an erasure certificate offline: every claim against its proven events, every
    event under the signed head, the museum's signature. No database is opened."""
    from ledger.certificate_check import load_certificate, verify_certificate

    checked = verify_certificate(load_certificate(certificate_file), public_key)
    if as_json:
        json_line(checked)
        return
    model = (
        f"model version {checked.model_version} holds none of them"
        if checked.model_version
        else "no model version was deployed"
    )
    say(
        f"certificate verified: artist {checked.artist_id} erased, {checked.items} stages "
        f"from {checked.donations} donation{'' if checked.donations == 1 else 's'}, "
        f"{len(checked.retraining_runs)} retraining runs "
        f"({checked.shards_reused} shards reused), {model}; {checked.events_checked} events "
        f"proven under the head of size {checked.tree_size} signed by key {checked.key_id}"
    )


@ledger_app.command("new-master-key")
def ledger_new_master_key() -> None:
    """Print a fresh master key (base64) for MUSEUM_MASTER_KEY; keep it secret and backed up."""
    from ledger.crypto import MasterKey

    print(MasterKey.generate_text())


def migrate(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Set up the schema once (migrations and the event tables); run it before workers start."""
    from ledger.runtime import migrate_ledger
    from ledger.settings import get_settings

    settings = get_settings()
    state, applied = migrate_ledger(settings)
    figures = {
        "revision": state.revision,
        "head": state.head,
        "events_table": state.events_table,
        "applied": applied,
        "backend": "sqlite" if settings.embedded else "postgresql",
    }
    if as_json:
        json_line(figures)
        return
    done = "applied now" if applied else "already in place"
    out.print(f"ledger schema at revision {state.revision} ({figures['backend']}, {done})")
