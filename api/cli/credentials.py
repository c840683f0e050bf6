"""`museum credentials …`: read and check an image's content credentials (C2PA), or export a
generation with its signed manifest. `show` needs no ledger and no master key: only the
museum's root certificate (or the trust anchors it is given)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.console import json_line, say
from ledger.errors import CredentialsNotTrusted, FileProblem

if TYPE_CHECKING:
    from generation.credentials.views import CredentialsCheckRead

credentials_app = typer.Typer(
    help="Read and check content credentials (C2PA) of the museum's images.", no_args_is_help=True
)

# Generated images are a few kilobytes; a file far larger is not one of them.
MAX_IMAGE_BYTES = 64 << 20


def _read(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_IMAGE_BYTES + 1)
    except OSError as exc:
        raise FileProblem(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_IMAGE_BYTES:
        raise FileProblem(f"{path} is larger than {MAX_IMAGE_BYTES} bytes: not a museum image")
    return data


def _anchors(extra: list[Path]) -> str | None:
    from generation.credentials.certificates import trust_anchors
    from ledger.settings import get_settings

    texts = [_read(path).decode("ascii", "replace") for path in extra]
    museum = trust_anchors(get_settings())
    if museum is not None:
        texts.insert(0, museum)
    return "".join(texts) or None


def _render(file: Path, check: CredentialsCheckRead) -> None:
    say(f"{file}: {check.verdict} — {check.explanation}")
    if check.manifest_label is None:
        return
    say(f"signed by: {check.signer or 'unknown'} ({check.issuer or 'no issuer'})")
    say(f"claim generator: {check.claim_generator or 'unknown'}")
    made = "trained algorithmic media (AI-generated)" if check.ai_generated else "not declared"
    say(f"source: {made}; {check.versions} manifest version(s)")
    if check.generation_id is not None:
        conditioning = check.conditioning or {}
        say(
            f"generation {check.generation_id}: model version {check.model_version}, seed "
            f"{check.seed}, {conditioning.get('role')} / {conditioning.get('emotion')}"
        )
    if check.receipt is not None:
        say(
            f"ledger receipt: event {check.receipt['event']['notification_id']} in the log of "
            f"size {check.receipt['head']['tree_size']}"
        )
    if check.attribution_method is None:
        say("credit: not attributed yet")
    else:
        say(
            f"credit ({check.attribution_method}, index {check.index_hash}, "
            f"{check.references} credited stages by fingerprint):"
        )
        for line in check.credits:
            say(f"  {line.pseudonym}: {line.ppm / 10_000:.2f} %")
    if check.training_mining:
        terms = ", ".join(
            f"{k.removeprefix('cawg.')} {v.get('use')}" for k, v in check.training_mining.items()
        )
        say(f"training and mining: {terms}")


@credentials_app.command("show")
def credentials_show(
    file: Annotated[Path, typer.Argument(help="An image (PNG) from the museum.")],
    trust_anchor: Annotated[
        list[Path] | None,
        typer.Option(
            "--trust-anchor",
            help="Also trust this root certificate (PEM; repeatable). The museum's own root "
            "under MUSEUM_HOME (or MUSEUM_C2PA_TRUST_ANCHORS) is always trusted.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Read FILE's C2PA manifest and validate it offline: print its credit lines and the
    verdict. Exit 1 unless the verdict is `trusted` (tampered, untrusted, invalid, missing)."""
    from generation.credentials.reading import check_png

    check = check_png(_read(file), _anchors(trust_anchor or []))
    if as_json:
        json_line(check)
    else:
        _render(file, check)
    if check.verdict != "trusted":
        raise CredentialsNotTrusted(
            f"{file}: content credentials {check.verdict}: {check.explanation}"
        )


@credentials_app.command("export")
def credentials_export(
    generation: Annotated[str, typer.Argument(help="Generation id (from museum generate).")],
    out_file: Annotated[Path, typer.Option("--out", help="Write the signed PNG here.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Write a generation's image with its newest signed manifest (issuing one if the image has
    none yet, or was attributed since its last)."""
    from api.attribute import parse_generation_id
    from api.cli.files import writable_target, write_atomically
    from api.cli.ledger import configured_ledger
    from generation.credentials.service import ContentCredentialService

    generation_id = parse_generation_id(generation)
    writable_target(out_file, "--out")
    with configured_ledger() as museum:
        service = ContentCredentialService(museum)
        described = service.describe(generation_id)
        png = service.signed_png(generation_id)
    write_atomically(out_file, png, "--out")
    if as_json:
        json_line(described)
        return
    newest = described.versions[-1]
    say(
        f"wrote {out_file}: generation {generation_id}, content credentials version "
        f"{newest.version} of {len(described.versions)} ({described.check.verdict})"
    )
