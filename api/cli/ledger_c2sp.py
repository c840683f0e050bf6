"""`museum ledger checkpoint|log-key|cosign|proof-bundle|check-proof`: the log in the
ecosystem's formats (C2SP), from the museum's side (registered on `ledger` by `COMMANDS`).
Imports happen inside the commands, so `--help` stays fast."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from api.cli.console import json_line, say
from api.cli.ledger import configured_ledger
from api.cli.options import INT64


def ledger_checkpoint() -> None:
    """Print the log's C2SP checkpoint (signed now if anything is new), with its cosignatures."""
    from ledger.publication import log_publication
    from ledger.settings import get_settings

    with configured_ledger() as ledger:
        note = log_publication(ledger, get_settings().log_origin).checkpoint()
    print(note.render(), end="")


def ledger_log_key() -> None:
    """Print the log's note verifier key, for witnesses and `check-proof --log-key`."""
    from ledger.publication import log_publication
    from ledger.settings import get_settings

    with configured_ledger() as ledger:
        print(log_publication(ledger, get_settings().log_origin).signer.verifier_key())


def ledger_cosign(
    witness_url: Annotated[str, typer.Argument(help="The witness's submission prefix (URL).")],
    witness_key: Annotated[str, typer.Option("--witness-key", help="Its verifier key.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Ask a witness to cosign the current checkpoint (with a consistency proof from what it
    cosigned last); the verified cosignature is kept and published with the checkpoint."""
    import httpx

    from api.witness_client import request_cosignature
    from ledger.cosignature import CosignatureVerifier
    from ledger.publication import log_publication
    from ledger.settings import get_settings

    witness = CosignatureVerifier.from_key(witness_key)
    with configured_ledger() as ledger, httpx.Client(timeout=30) as client:
        publication = log_publication(ledger, get_settings().log_origin)
        found = request_cosignature(publication, witness_url, witness, client)
    if as_json:
        json_line(found)
        return
    say(f"cosigned by {found.witness} at size {found.tree_size} (time {found.timestamp})")


def ledger_proof_bundle(
    notification_id: Annotated[
        int, typer.Argument(min=1, max=INT64, help="The event's notification id.")
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the .tlog-proof here.")
    ] = None,
) -> None:
    """An offline proof of one event (c2sp.org/tlog-proof): its stored record as `extra`, the
    inclusion path, and the latest cosigned checkpoint covering it. For an erasure
    certificate, give the notification id of the event that records it."""
    from api.cli.files import writable_target, write_atomically
    from ledger.publication import log_publication
    from ledger.settings import get_settings

    if output is not None:
        writable_target(output, "--output")
    with configured_ledger() as ledger:
        bundle = log_publication(ledger, get_settings().log_origin).proof_bundle(notification_id)
    text = bundle.render()
    if output is None:
        print(text, end="")
        return
    write_atomically(output, text.encode(), "--output")
    say(f"proof of event {notification_id} (index {bundle.index}) written to {output}")


def ledger_check_proof(
    proof_file: Annotated[Path, typer.Argument(help="A .tlog-proof file.")],
    log_key: Annotated[str, typer.Option("--log-key", help="The log's verifier key.")],
    witness_key: Annotated[
        list[str] | None, typer.Option("--witness-key", help="A trusted witness (repeatable).")
    ] = None,
    quorum: Annotated[
        int, typer.Option("--quorum", min=0, max=100, help="Witnesses that must cosign.")
    ] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Verify a proof offline: the log's signature, a quorum of trusted cosignatures, the
    entry's inclusion. No database is opened."""
    from ledger.cosignature import CosignatureVerifier
    from ledger.errors import FileProblem
    from ledger.proof_bundle import MAX_PROOF_BYTES, verify_proof
    from ledger.signed_note import NoteVerifier
    from ledger.views import ProofCheckRead

    try:
        with proof_file.open("rb") as handle:
            text = handle.read(MAX_PROOF_BYTES + 1).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FileProblem(f"cannot read {proof_file} as a proof: {exc}") from None
    witnesses = [CosignatureVerifier.from_key(key) for key in witness_key or []]
    checked = verify_proof(text, NoteVerifier.from_key(log_key), witnesses, quorum)
    view = ProofCheckRead(
        index=checked.index,
        tree_size=checked.checkpoint.size,
        origin=checked.checkpoint.origin,
        entry_bytes=len(checked.entry),
        witnesses=list(checked.witnesses),
    )
    if as_json:
        json_line(view)
        return
    cosigned = f", cosigned by {', '.join(view.witnesses)}" if view.witnesses else ""
    say(
        f"proof verified: entry {view.index} is in {view.origin} at size {view.tree_size}{cosigned}"
    )


COMMANDS: dict[str, Callable[..., None]] = {
    "checkpoint": ledger_checkpoint,
    "log-key": ledger_log_key,
    "cosign": ledger_cosign,
    "proof-bundle": ledger_proof_bundle,
    "check-proof": ledger_check_proof,
}
