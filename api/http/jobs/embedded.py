"""Embedded mode: the job functions on the app's own ledger, in one worker thread, in order.

The same functions a `museum worker` runs (`api.jobs.inline.run_job_inline`), one at a time,
the rest queued behind. What this runner knows lives in memory: after a restart a training or
generation job is still found through its run or generation in the ledger (see
`JobService`), and submitting the same id again finds what the job recorded instead of doing
the work twice (the job functions are keyed by job id).

On stop, a training job is asked to stop at its next progress report (its run is recorded as
failed, so the training slot is free for the next start), and the thread is waited for, so
that the ledger is closed only once nothing uses it; jobs still queued are dropped.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio.to_thread

from api.http.jobs.runners import Arguments, JobState, problem_of, same_arguments
from api.jobs.inline import run_job_inline
from api.jobs.running import Interrupted
from api.observe.context import request_id
from api.observe.metrics import JOB_SECONDS
from ledger.application import MuseumLedger

logger = logging.getLogger("museum.http.jobs")

# Finished jobs remembered in memory; older ones are forgotten first (a training or generation
# job is still found through the ledger, an attribution through its generation).
KEEP_FINISHED = 10_000


@dataclass
class _Entry:
    kind: str
    arguments: Arguments
    request_id: str | None = None
    state: JobState = field(init=False)


class EmbeddedJobs:
    """Jobs in a thread of this process, on this process's ledger."""

    def __init__(self, ledger: MuseumLedger, home: Path) -> None:
        self.ledger = ledger
        self.home = home
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    async def start(self) -> None:
        self._thread = threading.Thread(target=self._work, name="museum-jobs", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        thread = self._thread
        if thread is None:
            return
        self._stopping.set()
        self._queue.put(None)
        await anyio.to_thread.run_sync(thread.join)
        self._thread = None

    async def submit(self, kind: str, job_id: str, arguments: Arguments) -> JobState:
        with self._lock:
            known = self._entries.get(job_id)
            if known is not None:
                same_arguments(kind, arguments, known.kind, known.arguments)
                return known.state
            entry = _Entry(kind, dict(arguments), request_id.get())
            entry.state = JobState(job_id, kind, "queued")
            self._entries[job_id] = entry
            self._forget_oldest()
        self._queue.put(job_id)
        return entry.state

    def _forget_oldest(self) -> None:
        """Drop the oldest finished entries beyond `KEEP_FINISHED` (called holding the lock)."""
        finished = [i for i, e in self._entries.items() if e.state.state in ("complete", "failed")]
        for job_id in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self._entries[job_id]

    def waiting(self) -> int | None:
        with self._lock:
            return sum(1 for e in self._entries.values() if e.state.state == "queued")

    async def look(self, job_id: str) -> JobState | None:
        with self._lock:
            entry = self._entries.get(job_id)
            return None if entry is None else entry.state

    def _set(self, job_id: str, **changes: Any) -> None:
        with self._lock:
            entry = self._entries[job_id]
            entry.state = JobState(job_id, entry.kind, **changes)

    def _check_stop(self, _progress: object) -> None:
        if self._stopping.is_set():
            raise Interrupted("the server stopped while the run trained")

    def _work(self) -> None:
        while (job_id := self._queue.get()) is not None:
            if self._stopping.is_set():
                return
            with self._lock:
                entry = self._entries[job_id]
            self._set(job_id, state="in_progress")
            token = request_id.set(entry.request_id)  # the request that queued it, in its logs
            began = time.perf_counter()
            outcome = "failed"
            try:
                result = run_job_inline(
                    entry.kind,
                    job_id,
                    ledger=self.ledger,
                    home=self.home,
                    on_progress=self._check_stop,
                    **entry.arguments,
                )
            except Exception as exc:
                logger.info("job %s (%s) failed: %s", job_id, entry.kind, type(exc).__name__)
                self._set(job_id, state="failed", problem=problem_of(exc))
            else:
                outcome = "complete"
                self._set(job_id, state="complete", result=result)
                logger.info("job %s (%s) complete", job_id, entry.kind)
            finally:
                JOB_SECONDS.labels(entry.kind, outcome).observe(time.perf_counter() - began)
                request_id.reset(token)
