"""Commands retried on a lost race: the ledger's one retry policy (tenacity).

A get → command → save closure whose save lost to a concurrent writer of the same aggregate
version stored nothing (each save is one transaction), so it is run again from a fresh get, with
a growing jittered pause, up to a number of attempts; then the caller gets a `Conflict`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from eventsourcing.persistence import IntegrityError
from tenacity import RetryCallState, RetryError, Retrying, retry_if_exception, stop_after_attempt
from tenacity import wait_random_exponential as jittered

from ledger.errors import Conflict, IntegrityViolation

T = TypeVar("T")


def run_retried(
    command: Callable[[], T],
    what: str,
    *,
    attempts: int,
    pause: float,
    pause_max: float,
    on_lost_race: Callable[[], None] | None = None,
) -> T:
    """Run `command`, again while its save loses a race, at most `attempts` times.

    A closure that saves in steps must skip the steps already done (as erasure does). Domain
    commands answer a repeat correctly (a grant already held returns False), so a retry needs
    no special case.
    """

    def count(_state: RetryCallState) -> None:
        if on_lost_race is not None:
            on_lost_race()

    retrying = Retrying(
        retry=retry_if_exception(_lost_race),
        stop=stop_after_attempt(attempts),
        wait=jittered(multiplier=pause, max=pause_max),
        after=count,
    )
    try:
        return retrying(command)
    except RetryError:
        raise Conflict(f"{what} changed concurrently {attempts} times; try again") from None
    except IntegrityError as exc:
        raise IntegrityViolation(
            f"a save touching {what} was refused: ledger_leaves already holds rows for "
            f"events not yet recorded ({' '.join(str(exc).split())}); "
            "run `museum ledger verify`"
        ) from None


def _lost_race(exc: BaseException) -> bool:
    """A save refused because another writer stored that aggregate version first.

    The other refusal a save can meet is a taken leaf row: the leaves table was written outside
    the ledger, which no retry mends.
    """
    return isinstance(exc, IntegrityError) and "ledger_leaves" not in str(exc)
