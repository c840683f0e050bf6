"""`museum similar-failures`: how other donors moved on from a failure like this one.

A read, in this process (no job): the deployed model's features of the query stage against the
donated failure stages that may be shown (`generation.similar.service`). Records nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from uuid import UUID

import typer

from api.cli.console import json_line, say
from ledger.errors import InvalidImage, InvalidInput

COUNT_HELP = "How many failures to show (1 to 16)."


def _donation_id(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise InvalidInput(f"donation {value!r} is not a donation id (a UUID)") from None


def _read_image(path: Path) -> bytes:
    """The file's bytes, its size checked first: an oversized file is never read whole."""
    from ledger.images import MAX_IMAGE_BYTES

    size = path.stat().st_size  # a missing file is the boundary's one line (FileProblem)
    if size > MAX_IMAGE_BYTES:
        raise InvalidImage(f"{path} is {size} bytes; the limit is {MAX_IMAGE_BYTES}")
    return path.read_bytes()


def similar_failures(
    donation: Annotated[
        str | None, typer.Argument(help="Donation id of the query stage (or use --image).")
    ] = None,
    stage: Annotated[
        int | None, typer.Option(help="Stage index in the donation (0, 1, …).")
    ] = None,
    image: Annotated[
        Path | None, typer.Option(help="An image file to ask about instead (never stored).")
    ] = None,
    role: Annotated[str | None, typer.Option(help="With --image: its stage role.")] = None,
    failure_type: Annotated[
        str | None, typer.Option("--failure-type", help="With --image: its failure type.")
    ] = None,
    emotion: Annotated[
        str | None, typer.Option(help="Show failures of this emotion first (optional).")
    ] = None,
    count: Annotated[int, typer.Option(help=COUNT_HELP)] = 4,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Show the donated failure stages nearest to a stage in the deployed model's eyes, and how
    their donors moved on (next stages, failure notes, labels), credited by pseudonym.

    Ask about a donated stage (DONATION --stage N; its donation must hold exhibit consent) or
    an image (--image FILE --role R --failure-type F). Only donations whose exhibit consent
    holds now are shown. Records nothing.
    """
    from api.cli.ledger import configured_ledger
    from generation.similar.limits import check_count
    from ledger.settings import get_settings

    check_count(count)
    if (donation is None) == (image is None):
        raise InvalidInput("ask about a donated stage (DONATION --stage N) or an --image, one")
    if donation is not None and (stage is None or role is not None or failure_type is not None):
        raise InvalidInput(
            "a donated stage needs --stage N (its role and failure type are the donation's)"
        )
    if image is not None and (role is None or failure_type is None or stage is not None):
        raise InvalidInput("--image needs --role and --failure-type (and takes no --stage)")
    uploaded = None if image is None else _read_image(image)
    from generation.similar.service import SimilarFailures, index_root  # torch loads here

    with configured_ledger() as ledger:
        service = SimilarFailures(ledger, index_root(get_settings().home))
        if donation is not None:
            assert stage is not None  # checked above
            found = service.for_stage(
                _donation_id(donation),
                stage,
                count=count,
                emotion=emotion,
                sees_all=lambda _artist: True,  # the operator's terminal, not the exhibition
            )
        else:
            assert uploaded is not None
            assert role is not None
            assert failure_type is not None
            found = service.for_image(
                uploaded, role=role, failure_type=failure_type, emotion=emotion, count=count
            )
    if as_json:
        json_line(found)
        return
    q = found.query
    asked = (
        f"stage {q.stage_index} of donation {q.donation_id}"
        if q.kind == "stage"
        else f"the image {image}"
    )
    say(f"failures like {asked} ({q.role}, {q.failure_type}), model version {found.model_version}")
    say(
        f"{found.considered} exhibited failure stages compared, "
        f"{found.same_failure_type} of them filed under {q.failure_type}"
    )
    if not found.matches:
        say("no other exhibited donation has a failure stage yet")
        return
    say("how others moved on:")
    for m in found.matches:
        same = "" if m.same_failure_type else " (another failure type)"
        say(
            f"{m.rank}. {m.pseudonym}, similarity {m.similarity:.3f}: stage {m.stage_index} of "
            f"donation {m.donation_id}, {m.failure_type}{same}, {m.emotion}"
        )
        if m.failure_note:
            say(f"   failure note: {m.failure_note}")
        then = " → ".join(s.role + (f" ({s.caption})" if s.caption else "") for s in m.next_stages)
        say(f"   then: {then or 'nothing: the process ends at this failure'}")
