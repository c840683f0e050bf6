"""ISO 4217 currencies and amounts in minor units: the only money representation the museum has.

Exponents come from the CLDR data that Babel ships (JPY 0, USD 2, KWD 3, ...), not from a table
kept by hand. Amounts are `int` minor units; a decimal text in major units is accepted only where
a person types it (the CLI), and it is refused if it holds a fraction of a minor unit.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import cache

from babel.numbers import get_currency_precision, list_currencies

from ledger.errors import InvalidInput

# Above this the sums of many postings could leave a signed 64-bit column; no sale is that big.
MAX_AMOUNT_MINOR = 10**15


@cache
def _known() -> frozenset[str]:
    return frozenset(list_currencies())


def currency_code(value: object) -> str:
    """The ISO 4217 code, upper-cased; unknown codes are refused rather than guessed."""
    if not isinstance(value, str):
        raise InvalidInput("the currency must be an ISO 4217 code such as EUR, JPY or KWD")
    code = value.strip().upper()
    if len(code) != 3 or not code.isalpha() or code not in _known():
        raise InvalidInput(f"unknown currency {value!r}: expected an ISO 4217 code such as EUR")
    return code


def exponent(currency: str) -> int:
    """Number of decimal places of the currency's minor unit (JPY 0, EUR 2, KWD 3)."""
    return int(get_currency_precision(currency_code(currency)))


def check_amount(value: object, what: str = "amount") -> int:
    """A positive whole number of minor units; floats, bools and fractions are refused."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(
            f"the {what} must be a whole number of minor units (e.g. 1999 for 19.99 EUR), "
            f"got {value!r}"
        )
    if value <= 0:
        raise InvalidInput(f"the {what} must be positive, got {value}")
    if value > MAX_AMOUNT_MINOR:
        raise InvalidInput(f"the {what} exceeds {MAX_AMOUNT_MINOR} minor units")
    return value


def parse_major(text: str, currency: str) -> int:
    """Minor units from an amount a person typed in major units: "19.99" EUR → 1999.

    A fraction of the currency's minor unit is refused ("1.5" JPY, "1.234" EUR), never rounded.
    """
    code = currency_code(currency)
    try:
        number = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        raise InvalidInput(f"amount {text!r} is not a number") from None
    if not number.is_finite():
        raise InvalidInput(f"amount {text!r} is not a finite number")
    if number <= 0:
        raise InvalidInput(f"the amount must be positive, got {text.strip()!r}")
    if number.adjusted() > len(str(MAX_AMOUNT_MINOR)):
        # Refused before scaling: 1e999999 would overflow the decimal context, not just the cap.
        raise InvalidInput(f"the amount exceeds {MAX_AMOUNT_MINOR} minor units")
    # A number that small is a fraction of any minor unit; scaling it could only underflow.
    tiny = number.adjusted() < -len(str(MAX_AMOUNT_MINOR))
    scaled = number if tiny else number.scaleb(exponent(code))
    if scaled != scaled.to_integral_value():
        raise InvalidInput(
            f"amount {text!r} holds a fraction of a minor unit: {code} has "
            f"{exponent(code)} decimal places"
        )
    return check_amount(int(scaled))


def format_minor(amount: int, currency: str) -> str:
    """Minor units as exact decimal text in major units, e.g. (-1999, "EUR") → "-19.99 EUR"."""
    places = exponent(currency)
    sign = "-" if amount < 0 else ""
    whole, part = divmod(abs(amount), 10**places)
    text = f"{whole:,}" if places == 0 else f"{whole:,}.{part:0{places}d}"
    return f"{sign}{text} {currency}"
