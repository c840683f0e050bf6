"""Options and limits more than one command group shares, spelled once."""

from __future__ import annotations

from typing import Annotated

import typer

# The widest whole number the database columns hold: seeds and sizes beyond it are refused.
INT64 = 2**63 - 1

JOB_ID_HELP = "Job id (default: a fresh one). Submitting an id again never runs the job twice."

AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
