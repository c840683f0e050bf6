"""How `museum demo` shows its progress: a rich bar on a terminal, plain lines otherwise, so a
piped or logged run says what it is doing as it goes (a rich bar draws nothing off a terminal).

Training shows itself through the commands' own display (`api.cli.jobs.TrainingDisplay`);
`Steps` does the same for the demo's other long steps (seeding, attribution).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console


def line(console: Console, text: str) -> None:
    """One plain line: no wrapping, no highlighting (a log reads it as it is)."""
    console.print(text, highlight=False, soft_wrap=True)


def seconds(elapsed: float) -> str:
    minutes, rest = divmod(round(elapsed), 60)
    return f"{minutes} m {rest:02d} s" if minutes else f"{elapsed:.1f} s"


@contextmanager
def phase(console: Console, what: str) -> Iterator[None]:
    """`what` … done in N s: each step of the demo says how long it took."""
    started = time.perf_counter()
    yield
    line(console, f"{what}: done in {seconds(time.perf_counter() - started)}")


class Steps:
    """Progress through `total` things: a transient bar on a terminal; off one, a line at
    each `every`-th step and at the last (`every` 1: a line per step)."""

    def __init__(self, console: Console, what: str, total: int, *, every: int = 1) -> None:
        self.console = console
        self.what = what
        self.total = total
        self.every = max(1, every)
        self.bar: Any = None
        self.task: Any = None
        self.last = -1

    def __enter__(self) -> Steps:
        if self.console.is_terminal:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[note]}"),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task(self.what, total=self.total or None, note="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def update(self, done: int, *, total: int | None = None, note: str = "") -> None:
        """`done` of the total (which a training learns only from its first report)."""
        if total is not None:
            self.total = total
        if done <= self.last:
            return
        self.last = done
        if self.bar is not None:
            self.bar.update(self.task, completed=done, total=self.total or None, note=note)
            return
        if done % self.every == 0 or done >= self.total:
            suffix = f" {note}" if note else ""
            line(self.console, f"{self.what}: {done}/{self.total}{suffix}")
