"""The string rules (ledger/validation.py): whole strings, ASCII only, refused rather than normalised."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import validation
from ledger.errors import InvalidInput

Rule = Callable[[object], str]

RULES: dict[str, tuple[Rule, str]] = {
    "slug": (lambda v: validation.slug(v, "tag"), r"[a-z0-9][a-z0-9-]{0,31}"),
    "key": (lambda v: validation.key(v, "idempotency key"), r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}"),
    "method": (validation.method_name, r"[a-z0-9][a-z0-9-]{0,31}"),
    "index_hash": (validation.index_hash, r"[0-9a-f]{16,128}"),
}

# Whitespace Python's str.strip() removes, and the ones people paste by accident.
WHITESPACE = [" ", "\n", "\r", "\r\n", "\t", "\x0b", "\x0c", "\x85", "\u00a0", "\u1680"]
WHITESPACE += ["\u2002", "\u2009", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000"]
WHITESPACE += [
    "\u200b",
    "\ufeff",
]  # zero-width space and BOM: not whitespace to Python, still wrong

# Look-alikes of ASCII letters and digits (Unicode confusables) and of the key punctuation.
CONFUSABLE = {
    "a": "\u0430\u0251\u237a",  # Cyrillic а, Latin alpha, APL alpha
    "c": "\u0441\u217d",
    "e": "\u0435\u212e",
    "i": "\u0456\u0131\u2170",  # Cyrillic і, dotless ı, Roman numeral ⅰ
    "o": "\u043e\u03bf\u0585",  # Cyrillic о, Greek ο, Armenian օ
    "p": "\u0440\u03c1",
    "s": "\u0455",
    "x": "\u0445\u2179",
    "y": "\u0443",
    "A": "\u0410\u0391",
    "B": "\u0412\u0392",
    "E": "\u0415\u0395",
    "K": "\u041a\u212a",  # Cyrillic К, Kelvin sign
    "O": "\u041e\u039f",
    "-": "\u2010\u2011\u2012\u2013\u2212\ufe63",
    ".": "\u2024\uff0e",
    ":": "\u2236\ua789",
    "_": "\uff3f",
}


def lookalikes(char: str) -> list[str]:
    """Characters that render like `char`: fullwidth forms, other scripts' digits, confusables."""
    found = list(CONFUSABLE.get(char, ""))
    found.append(chr(ord(char) + 0xFEE0))  # fullwidth form of every printable ASCII character
    if char.isdigit():
        digit = int(char)
        found += [
            chr(0x0660 + digit),
            chr(0x06F0 + digit),
            chr(0x0966 + digit),
            chr(0x1D7CE + digit),
        ]
    elif char.isalpha():
        offset = ord(char.lower()) - ord("a")
        found.append(chr((0x1D41A if char.islower() else 0x1D400) + offset))  # mathematical bold
    return found


@pytest.mark.parametrize("name", RULES)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_valid_values_are_returned_unchanged(name: str, data: st.DataObject) -> None:
    rule, pattern = RULES[name]
    value = data.draw(st.from_regex(pattern, fullmatch=True))
    assert rule(value) == value


@pytest.mark.parametrize("name", RULES)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_surrounding_whitespace_is_refused(name: str, data: st.DataObject) -> None:
    rule, pattern = RULES[name]
    value = data.draw(st.from_regex(pattern, fullmatch=True))
    for space in WHITESPACE:
        for padded in (space + value, value + space, space + value + space):
            with pytest.raises(InvalidInput, match="must be"):
                rule(padded)


@pytest.mark.parametrize("name", RULES)
@settings(max_examples=50, deadline=None)
@given(data=st.data())
def test_one_lookalike_character_is_refused(name: str, data: st.DataObject) -> None:
    rule, pattern = RULES[name]
    value = data.draw(st.from_regex(pattern, fullmatch=True))
    index = data.draw(st.integers(0, len(value) - 1))
    twin = data.draw(st.sampled_from(lookalikes(value[index])))
    forged = value[:index] + twin + value[index + 1 :]
    assert forged != value
    with pytest.raises(InvalidInput):
        rule(forged)


@pytest.mark.parametrize("name", RULES)
@settings(max_examples=60, deadline=None)
@given(candidate=st.text(max_size=40))
def test_anything_accepted_is_plain_ascii(name: str, candidate: str) -> None:
    """Arbitrary Unicode: accepted only as itself, ASCII, with no whitespace anywhere."""
    rule, _ = RULES[name]
    try:
        accepted = rule(candidate)
    except InvalidInput:
        return
    assert accepted == candidate
    assert candidate.isascii()
    assert candidate.isprintable()
    assert not any(c.isspace() for c in candidate)


@pytest.mark.parametrize("name", RULES)
@pytest.mark.parametrize("value", [None, 7, 1.5, b"sale-1", ["sale-1"], {"k": 1}])
def test_values_that_are_not_text_are_refused(name: str, value: object) -> None:
    rule, _ = RULES[name]
    with pytest.raises(InvalidInput):
        rule(value)


def test_the_dollar_sign_pitfall_is_closed() -> None:
    """`re.match("^…$")` accepts a final newline; each rule must not."""
    for value in ["sale-1\n", "sale-1\r\n", "sale-1\n\n", "\nsale-1"]:
        with pytest.raises(InvalidInput, match="idempotency key"):
            validation.key(value, "idempotency key")
    with pytest.raises(InvalidInput, match="tag"):
        validation.slug("seascape\n", "tag")
    with pytest.raises(InvalidInput, match="method"):
        validation.method_name("trak\n")
    with pytest.raises(InvalidInput, match="index_hash"):
        validation.index_hash("ab" * 8 + "\n")


# --- free text ---------------------------------------------------------------------------------


def test_text_is_stripped_limited_and_required() -> None:
    assert validation.text("  a caption \n", "caption", limit=20) == "a caption"
    assert validation.text("line one\n\tline two", "note", limit=20) == "line one\n\tline two"
    assert validation.text("   ", "era", limit=5, required=False) == ""
    with pytest.raises(InvalidInput, match="title is required"):
        validation.text(" \n ", "title", limit=5)
    with pytest.raises(InvalidInput, match="title is 6 characters; the limit is 5"):
        validation.text("abcdef", "title", limit=5)
    with pytest.raises(InvalidInput, match="title must be text, not NoneType"):
        validation.text(None, "title", limit=5)
    with pytest.raises(InvalidInput, match="title must be text, not bytes"):
        validation.text(b"abc", "title", limit=5)


@pytest.mark.parametrize("surrogate", [chr(0xD800), chr(0xDFFF), chr(0xDC80)])
def test_lone_surrogates_are_refused_naming_the_field(surrogate: str) -> None:
    with pytest.raises(InvalidInput, match=r"caption of stage 1 is not valid text.*surrogate"):
        validation.text(f"half {surrogate} a pair", "caption of stage 1", limit=100)


@pytest.mark.parametrize("control", ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\x9b"])
def test_control_characters_other_than_newline_and_tab_are_refused(control: str) -> None:
    with pytest.raises(InvalidInput, match="pseudonym holds a control character"):
        validation.text(f"Ink{control}Moth", "pseudonym", limit=64)


def test_line_ends_are_normalised_as_a_browser_form_sends_them() -> None:
    assert validation.text("a\r\nb\rc\n", "failure note", limit=10) == "a\nb\nc"


@settings(max_examples=60, deadline=None)
@given(
    value=st.text(
        st.one_of(st.characters(), st.sampled_from(["\ud800", "\udfff", "\x00", "\r", "\n"])),
        max_size=30,
    )
)
def test_text_either_returns_encodable_text_or_refuses(value: str) -> None:
    """Never a UnicodeEncodeError or any other surprise: text out is UTF-8 safe, or InvalidInput."""
    try:
        cleaned = validation.text(value, "label", limit=30, required=False)
    except InvalidInput as exc:
        message = str(exc)
    else:
        cleaned.encode("utf-8")
        assert cleaned == value.replace("\r\n", "\n").replace("\r", "\n").strip()
        return
    assert message.startswith("label ")


@pytest.mark.parametrize("value", [-1, True, 1.0, "3", None])
def test_a_seed_is_a_non_negative_integer_everywhere(value: object) -> None:
    from collection import founding_collection
    from generation.seeds import check_seed

    with pytest.raises(InvalidInput, match="seed must be a non-negative integer"):
        validation.seed(value)
    with pytest.raises(InvalidInput, match="seed must be a non-negative integer"):
        check_seed(value)
    with pytest.raises(InvalidInput, match="seed must be a non-negative integer"):
        founding_collection(n_artists=1, seed=value)  # type: ignore[arg-type]
    assert validation.seed(0) == 0 == check_seed(0)
