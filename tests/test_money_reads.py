"""Small rules under the money routes: keyset cursors, event references, the CSV statement."""

from __future__ import annotations

import csv
import io
from uuid import UUID

import pytest

from ledger.cursors import decode_cursor, encode_cursor
from ledger.errors import InvalidInput
from ledger.validation import event_reference
from royalties.statement import CSV_COLUMNS, render_csv
from royalties.views import StatementRead, as_view


def test_cursors_round_trip_and_refuse_what_they_did_not_make() -> None:
    key = ("artist:3f0c", "EUR")
    cursor = encode_cursor(key)
    assert cursor.isascii()
    assert "/" not in cursor
    assert "+" not in cursor
    assert decode_cursor(cursor, 2) == key
    assert decode_cursor(None, 2) is None
    for bad in ("nope", encode_cursor(("a",)), encode_cursor(("a", "b", "c")), "W1t0cnVlXV0="):
        with pytest.raises(InvalidInput, match="cursor"):
            decode_cursor(bad, 2)
    with pytest.raises(InvalidInput):
        decode_cursor(encode_cursor((1,))[:-2] + "!!", 1)


def test_event_references_as_the_cli_takes_them() -> None:
    originator = UUID("3f0c6e1a-0000-4000-8000-000000000001")
    assert event_reference("42") == 42
    assert event_reference(f"{originator}:3") == (originator, 3)
    for bad in ("", "4 2", "42\n", "-1", "\u0663", "1" * 20, str(2**63), f"{originator}:", "x:1"):
        with pytest.raises(InvalidInput):
            event_reference(bad)
    with pytest.raises(InvalidInput):
        event_reference(42)


def test_csv_statement_is_rfc_4180() -> None:
    line = {"kind": "artist_share", "amount": 700, "share_ppm": 500_000}
    statement = as_view(
        {
            "artist": {"artist_id": "a-1", "pseudonym": "P", "founding": False, "erased": False},
            "period": {"start": "2026-01-01T00:00:00+00:00", "end": "2026-02-01T00:00:00+00:00"},
            "currencies": [
                {
                    "currency": "EUR",
                    "opening_balance": 100,
                    "earned": 700,
                    "reversed": 0,
                    "paid_out": 800,
                    "credits": [],
                    "revenue_lines": [
                        line
                        | {
                            "at": "2026-01-02T00:00:00+00:00",
                            "source_id": 'r,"1"',
                            "generation_id": "g\r\n1",
                            "gross": 1000,
                        }
                    ],
                    "reversals": [],
                    "payouts": [
                        {
                            "at": "2026-01-01T00:00:00+00:00",
                            "kind": "payout",
                            "amount": -800,
                            "source_id": "p1",
                        }
                    ],
                    "daily": [],
                    "closing_balance": 0,
                }
            ],
        },
        StatementRead,
    )
    text = render_csv(statement)
    assert text.startswith(",".join(CSV_COLUMNS) + "\r\n")
    assert '"r,""1"""' in text  # a comma or a quote quotes the field; quotes are doubled
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[1][2:6] == ["payout", "2026-01-01T00:00:00+00:00", "payout", "-800"]  # by time
    assert rows[2][6:8] == ['r,"1"', "g\r\n1"]
    assert rows[1][7:] == ["", "", ""]  # absent values are empty fields, never "None"
    assert len(rows) == 3
