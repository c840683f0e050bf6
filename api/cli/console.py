"""Where the `museum` command writes: the one rich console for what a command shows, and the
one way a refusal reaches stderr (`error: …` on one line) and ends the command."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import msgspec
from rich.console import Console

out = Console()


def say(text: str) -> None:
    """One line of plain output (no wrapping, no highlighting: it is read by scripts too)."""
    out.print(text, highlight=False, soft_wrap=True)


def plain(payload: Any) -> Any:
    """`payload` with every typed view (a msgspec Struct) in it as plain JSON data: the keys a
    view prints are its field names, in order (`ledger.views`)."""
    if isinstance(payload, msgspec.Struct):
        return msgspec.to_builtins(payload)
    if isinstance(payload, dict):
        return {key: plain(value) for key, value in payload.items()}
    if isinstance(payload, list | tuple):
        return [plain(value) for value in payload]
    return payload


def print_json(payload: Any) -> None:
    """`payload` as indented, coloured JSON for a person to read."""
    out.print_json(json.dumps(plain(payload), default=str))


def json_line(payload: Any, *, indent: int | None = None) -> None:
    """`payload` as plain JSON on stdout, for scripts (one line unless `indent` is given)."""
    print(json.dumps(plain(payload), indent=indent, default=str))


def say_error(message: str) -> None:
    """`error: …` on one line of stderr, whatever the message holds."""
    line = " ".join(str(message).split()).encode("utf-8", "backslashreplace").decode("utf-8")
    print(f"error: {line}", file=sys.stderr, flush=True)


def say_warning(message: str) -> None:
    """`warning: …` on one line of stderr: done, but something the operator must know."""
    line = " ".join(str(message).split()).encode("utf-8", "backslashreplace").decode("utf-8")
    print(f"warning: {line}", file=sys.stderr, flush=True)


def refuse(message: str, code: int) -> NoReturn:
    """End the command: the refusal's one line on stderr and its exit code."""
    say_error(message)
    raise SystemExit(code)
