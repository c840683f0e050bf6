"""The error boundary of the `museum` command: every failure ends as one line on stderr and a
documented exit code (README, "Exit codes"; the table lives in `ledger/errors.py`).

Known refusals are `LedgerError`s and carry their code. Generic library failures that have a
plain meaning are mapped here, once, for every command: an `OSError` on a named path is a
`FileProblem`, a `UnicodeError` is invalid input, a database that cannot be reached or read is a
`ConfigurationError`. Anything else is a bug: one line naming it, and the traceback written to a
crash report (or printed, with `--debug` / `MUSEUM_DEBUG=1`). The HTTP API maps the same way.
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

from typer import Abort, TyperException

from api.cli.console import say_error
from ledger.errors import FileProblem, IntegrityViolation, InvalidInput, LedgerError

UNEXPECTED = 70
INTERRUPTED = 130
USAGE = 2


def debug_requested(args: list[str]) -> bool:
    """`--debug` before the command name, or MUSEUM_DEBUG set to a true value."""
    leading = []
    for arg in args:
        if not arg.startswith("-"):
            break
        leading.append(arg)
    env = os.environ.get("MUSEUM_DEBUG", "").strip().lower()
    return "--debug" in leading or env in ("1", "true", "yes", "on")


def check_arguments(args: list[str]) -> None:
    """Refuse arguments that are not text: undecodable bytes arrive as lone surrogates."""
    for position, arg in enumerate(args, start=1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput(f"argument {position} is not valid UTF-8 text: {arg!r}") from None


def refusal(exc: BaseException) -> LedgerError | None:
    """The domain error a failure means, or None when it means a bug."""
    if isinstance(exc, LedgerError):
        return exc
    from ledger.runtime import is_unusable_database, unusable_database

    if is_unusable_database(exc):
        from ledger.settings import get_settings

        return unusable_database(get_settings(), exc)
    if isinstance(exc, UnicodeError):
        return InvalidInput(f"text that is not valid UTF-8 (or cannot be encoded): {exc}")
    if isinstance(exc, OSError) and exc.filename is not None:
        names = " → ".join(str(name) for name in (exc.filename, exc.filename2) if name)
        return FileProblem(f"cannot use {names}: {(exc.strerror or str(exc)).lower()}")
    return None


def _report_folders() -> list[Path]:
    try:
        from ledger.settings import get_settings

        home = get_settings().home
    except Exception:  # the report must still be written somewhere
        home = Path("./var")
    return [home / "crash-reports", Path(tempfile.gettempdir()) / "museum-crash-reports"]


def crash_report(exc: BaseException, args: list[str]) -> Path | None:
    """Write the traceback and the arguments (URL passwords hidden; nothing from the
    environment) to a private file; None if no folder can take it."""
    from ledger.settings import hide_passwords

    shown = [hide_passwords(arg) for arg in args]
    text = (
        f"museum crash report, {datetime.now(UTC).isoformat()}\n"
        f"python {sys.version.split()[0]} on {sys.platform}\n"
        f"arguments: {shown!r}\n\n" + "".join(traceback.format_exception(exc))
    )
    for folder in _report_folders():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(
                prefix=datetime.now(UTC).strftime("crash-%Y%m%dT%H%M%SZ-"),
                suffix=".txt",
                dir=folder,
            )
            with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
                fh.write(text)
        except OSError:
            continue
        return Path(name)
    return None


def _is(exc: BaseException, name: str) -> bool:
    """Whether `exc` is click's `name` (typer ships its own copy of click's exceptions)."""
    return any(cls.__name__ == name for cls in type(exc).__mro__)


def end(exc: BaseException, args: list[str], *, debug: bool) -> NoReturn:
    """Print the one line for `exc` and exit with its code."""
    if isinstance(exc, KeyboardInterrupt | Abort):
        say_error("interrupted")
        raise SystemExit(INTERRUPTED)
    if isinstance(exc, TyperException):  # click's usage errors, as typer raises them
        if _is(exc, "NoArgsIsHelpError"):
            print(exc.format_message())
            say_error("missing command: choose one of those listed above")
        else:
            say_error(exc.format_message())
        raise SystemExit(FileProblem.exit_code if _is(exc, "FileError") else USAGE)
    known = refusal(exc)
    if debug:
        traceback.print_exception(exc)
    if known is not None:
        prefix = "ledger verification failed: " if isinstance(known, IntegrityViolation) else ""
        say_error(f"{prefix}{known}")
        raise SystemExit(known.exit_code)
    name = f"{type(exc).__module__}.{type(exc).__qualname__}".removeprefix("builtins.")
    if debug:
        say_error(f"unexpected {name}: {exc} (a bug; the traceback is above)")
    else:
        report = crash_report(exc, args)
        where = (
            f"full report: {report}" if report else "no report could be written: rerun with --debug"
        )
        say_error(f"unexpected {name}: {exc} ({where})")
    raise SystemExit(UNEXPECTED)
