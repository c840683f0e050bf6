"""The splitting engine: pure, integer-only, exact to the minor unit.

A revenue report of `gross` minor units becomes one balanced transaction:

    receivable:integrators  -gross             (debit: the integrator owes the museum)
    platform:revenue        +platform          (the museum's share, minus any founding bonus)
    artist:<id>             +share             (each eligible credited artist, by attribution)
    artist:<id>             +founding bonus    (founding artists only, from the charter pool)
    pool:community          +rest              (only when no credited item may earn)

Signs: credit is positive, debit negative, so every transaction sums to zero and an artist's
balance (what the museum owes them) is the plain sum of their postings.

Rounding: the platform takes floor(gross × bps / 10 000), so rounding always favours the artists;
everything else is divided with the largest-remainder method, ties broken by key
(`ledger.shares.largest_remainder`, shared with attribution shares), so the same report gives
the same postings on any machine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from ledger.errors import InvalidInput
from ledger.shares import largest_remainder
from royalties.currency import check_amount

BPS = 10_000

RECEIVABLE = "receivable:integrators"
PLATFORM = "platform:revenue"
COMMUNITY_POOL = "pool:community"
CASH = "cash:payouts"
ARTIST_PREFIX = "artist:"

# Posting kinds: what a line is for, so statements can tell credits, bonuses and payouts apart.
GROSS = "gross"
PLATFORM_SHARE = "platform_share"
ARTIST_SHARE = "artist_share"
FOUNDING_BONUS = "founding_bonus"
POOL_SHARE = "community_pool"
PAYOUT = "payout"
PAYOUT_FAILED = "payout_failed"
HELD_RELEASE = "held_release"
REVERSAL_KINDS = ("refund", "chargeback")


def artist_account(artist_id: object) -> str:
    return f"{ARTIST_PREFIX}{artist_id}"


def artist_of(account: str) -> UUID:
    """The artist whose account this is: the inverse of `artist_account` (ids read back as UUIDs),
    so no caller slices the prefix off by hand."""
    if not account.startswith(ARTIST_PREFIX):
        raise InvalidInput(f"account {account!r} is not an artist's account")
    try:
        return UUID(account.removeprefix(ARTIST_PREFIX))
    except ValueError:
        raise InvalidInput(f"account {account!r} does not name an artist by UUID") from None


@dataclass(frozen=True)
class Posting:
    """One line of a transaction. `share_ppm` is the eligible attribution share it was paid for."""

    account: str
    amount: int
    kind: str
    share_ppm: int | None = None
    line: int | None = None  # for a reversal: the index of the original line it takes from

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"account": self.account, "amount": self.amount, "kind": self.kind}
        if self.share_ppm is not None:
            data["share_ppm"] = self.share_ppm
        if self.line is not None:
            data["line"] = self.line
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Posting:
        share, line = data.get("share_ppm"), data.get("line")
        return cls(
            str(data["account"]),
            int(data["amount"]),
            str(data["kind"]),
            None if share is None else int(share),
            None if line is None else int(line),
        )


def check_balanced(postings: Sequence[Posting]) -> None:
    """Refuse a transaction whose lines do not sum to zero (an engine bug, never user input)."""
    if not postings:
        raise InvalidInput("a transaction needs at least one posting")
    for posting in postings:
        if isinstance(posting.amount, bool) or not isinstance(posting.amount, int):
            raise InvalidInput(f"posting to {posting.account} is not a whole number of minor units")
    total = sum(p.amount for p in postings)
    if total != 0:
        raise InvalidInput(f"transaction does not balance: postings sum to {total}")


@dataclass(frozen=True)
class Terms:
    """The museum's terms: the platform's share, and the founding artists' charter bonus.

    `founding_bonus_bps` of every gross amount is taken out of the platform's share (never out of
    other artists' earnings) and divided among the founding artists credited for the generation,
    in proportion to their eligible attribution. With no founding artist credited, the platform
    keeps it.
    """

    platform_bps: int = 3000
    founding_bonus_bps: int = 500

    def __post_init__(self) -> None:
        for name in ("platform_bps", "founding_bonus_bps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= BPS:
                raise InvalidInput(f"{name} must be a whole number of basis points, 0 to {BPS}")
        if self.founding_bonus_bps > self.platform_bps:
            raise InvalidInput(
                "founding_bonus_bps is paid out of the platform's share: it cannot exceed "
                "platform_bps"
            )

    def as_dict(self) -> dict[str, int]:
        return {"platform_bps": self.platform_bps, "founding_bonus_bps": self.founding_bonus_bps}


@dataclass(frozen=True)
class Contributor:
    """An artist credited for a generation: the attribution ppm of their items that may earn."""

    artist_id: str
    eligible_ppm: int
    founding: bool = False


def split_revenue(gross: int, contributors: Iterable[Contributor], terms: Terms) -> list[Posting]:
    """The balanced postings of one revenue report (see the module docstring for the rules)."""
    check_amount(gross)
    people = sorted(contributors, key=lambda c: c.artist_id)
    if len({c.artist_id for c in people}) != len(people):
        raise InvalidInput("an artist is listed twice among the contributors")
    if any(c.eligible_ppm < 0 for c in people):
        raise InvalidInput("attribution shares must not be negative")
    eligible = [c for c in people if c.eligible_ppm > 0]
    founders = [c for c in eligible if c.founding]
    platform_full = gross * terms.platform_bps // BPS
    bonus = gross * terms.founding_bonus_bps // BPS if founders else 0
    rest = gross - platform_full
    postings = [Posting(RECEIVABLE, -gross, GROSS)]
    if platform_full - bonus:
        postings.append(Posting(PLATFORM, platform_full - bonus, PLATFORM_SHARE))
    if not eligible:
        if rest:
            postings.append(Posting(COMMUNITY_POOL, rest, POOL_SHARE))
        check_balanced(postings)
        return postings
    shares = largest_remainder(rest, [(c.artist_id, c.eligible_ppm) for c in eligible])
    bonuses = largest_remainder(bonus, [(c.artist_id, c.eligible_ppm) for c in founders])
    for person in eligible:
        account = artist_account(person.artist_id)
        # A credited artist always gets a line, even of 0: the statement shows the credit.
        postings.append(
            Posting(account, shares[person.artist_id], ARTIST_SHARE, person.eligible_ppm)
        )
        if bonuses.get(person.artist_id):
            postings.append(
                Posting(account, bonuses[person.artist_id], FOUNDING_BONUS, person.eligible_ppm)
            )
    check_balanced(postings)
    return postings


def reverse_postings(
    original: Sequence[Posting], reversed_so_far: Iterable[Posting], amount: int, kind: str
) -> list[Posting]:
    """The postings of a refund or chargeback of `amount` against one revenue transaction.

    Each credit line of the original is reversed in proportion to what is left of it (largest
    remainder over the unreversed amounts), so repeated partial refunds never take back more
    from any line than it was booked, and refunding the whole remainder reverses every line
    exactly. The integrator's receivable is credited with `amount`. Every reversing line names
    the original line (`line`) it takes from.
    """
    if kind not in REVERSAL_KINDS:
        raise InvalidInput(f"a reversal is one of {', '.join(REVERSAL_KINDS)}, got {kind!r}")
    check_amount(amount, "refund amount")
    left = {index: p.amount for index, p in enumerate(original) if p.amount > 0}
    for posting in reversed_so_far:
        if posting.line is not None and posting.line in left:
            left[posting.line] += posting.amount
    remaining = sum(left.values())
    if amount > remaining:
        raise InvalidInput(
            f"refund of {amount} exceeds what is left of the report ({remaining} minor units)"
        )
    parts = largest_remainder(amount, [(f"{index:06d}", left[index]) for index in sorted(left)])
    out = [Posting(RECEIVABLE, amount, kind)]
    for index in sorted(left):
        taken = parts[f"{index:06d}"]
        if taken:
            line = original[index]
            out.append(Posting(line.account, -taken, kind, line.share_ppm, index))
    check_balanced(out)
    return out


def _from_artist(artist_id: str, amount: int, to: str, kind: str, what: str) -> list[Posting]:
    """`amount` (checked as `what`) moved off an artist's payable onto account `to`."""
    check_amount(amount, what)
    postings = [Posting(artist_account(artist_id), -amount, kind), Posting(to, amount, kind)]
    check_balanced(postings)
    return postings


def payout_postings(artist_id: str, amount: int) -> list[Posting]:
    """Paying an artist: their payable goes down, cash goes out."""
    return _from_artist(artist_id, amount, CASH, PAYOUT, "payout amount")


def failed_payout_postings(payout: Sequence[Posting]) -> list[Posting]:
    """A failed payout is reversed line for line: the artist's balance is restored in full."""
    postings = [Posting(p.account, -p.amount, PAYOUT_FAILED, p.share_ppm) for p in payout]
    check_balanced(postings)
    return postings


def release_postings(artist_id: str, amount: int) -> list[Posting]:
    """An erased artist's held balance moved to the community pool, by an explicit decision."""
    return _from_artist(artist_id, amount, COMMUNITY_POOL, HELD_RELEASE, "held balance")


def balances(transactions: Iterable[Sequence[Posting]]) -> dict[str, int]:
    """Balance of every account: the sum of its postings (credit positive)."""
    out: dict[str, int] = {}
    for postings in transactions:
        for posting in postings:
            out[posting.account] = out.get(posting.account, 0) + posting.amount
    return out
