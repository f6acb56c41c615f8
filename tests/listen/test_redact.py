"""Tests for cxchange.listen.redact: what must go, what must stay, and the vectorised contract."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxchange.listen import redact as redact_module
from cxchange.listen.redact import RedactionResult, luhn_valid, redact_texts


def _with_check_digit(body: str) -> str:
    """Append the Luhn check digit, to build valid card numbers of any length."""
    for digit in "0123456789":
        if luhn_valid(body + digit):
            return body + digit
    raise AssertionError("unreachable: one check digit always fits")


def _one(text: str) -> str:
    return redact_texts(pl.Series([text])).text[0]


# --- should redact: (text, expected) --------------------------------------------------------------

SHOULD_REDACT = [
    # international phones
    ("call +44 20 7946 0958 now", "call [PHONE] now"),
    ("ring +1 (415) 555-2671", "ring [PHONE]"),
    ("0044 20 7946 0958", "[PHONE]"),
    ("mobile: +44 (0)20 7946 0958.", "mobile: [PHONE]."),
    ("text me +447700900123", "text me [PHONE]"),
    ("+44 7700 900123 is my mobile", "[PHONE] is my mobile"),
    ("appelez le +33 6 12 34 56 78", "appelez le [PHONE]"),
    ("Tel. +49 30 12345678", "Tel. [PHONE]"),
    ("+1-415-555-2671", "[PHONE]"),
    ("tel:+14155552671", "tel:[PHONE]"),
    ("Dublin office +353 1 234 5678", "Dublin office [PHONE]"),
    # national phones
    ("my number is 020 7946 0958", "my number is [PHONE]"),
    ("call (415) 555-2671 asap", "call [PHONE] asap"),
    ("415-555-2671", "[PHONE]"),
    ("415.555.2671", "[PHONE]"),
    ("415 555 2671", "[PHONE]"),
    ("call 1-800-555-0199 toll free", "call [PHONE] toll free"),
    ("1 (800) 555-0199", "[PHONE]"),
    ("07700 900123", "[PHONE]"),
    ("07700900123 anytime", "[PHONE] anytime"),
    ("mon portable 06 12 34 56 78", "mon portable [PHONE]"),
    ("06.12.34.56.78", "[PHONE]"),
    ("0161 496 0000", "[PHONE]"),
    ("(020) 7946 0958", "[PHONE]"),
    ("Rufnummer 030 12345678", "Rufnummer [PHONE]"),
    ("call 020 7946 0958, or 07700 900123", "call [PHONE], or [PHONE]"),
    ("(phone: 020 7946 0958)", "(phone: [PHONE])"),
    # emails
    ("my email is jane.doe@example.com, thanks", "my email is [EMAIL], thanks"),
    ("j_smith+promo@mail.example.co.uk", "[EMAIL]"),
    ("Contact JOHN.DOE@EXAMPLE.ORG.", "Contact [EMAIL]."),
    ("jörg.müller@example.de schrieb", "[EMAIL] schrieb"),
    # cards
    ("card 4111 1111 1111 1111 was charged twice", "card [CARD] was charged twice"),
    ("4111-1111-1111-1111", "[CARD]"),
    ("paid with 4111111111111111.", "paid with [CARD]."),
    ("mastercard 5500 0000 0000 0004", "mastercard [CARD]"),
    ("amex 3782 822463 10005", "amex [CARD]"),
    ("amex 378282246310005", "amex [CARD]"),
    ("discover 6011 1111 1111 1117", "discover [CARD]"),
    ("old visa 4222222222222", "old visa [CARD]"),
    (f"19 digits {_with_check_digit('622126000000000000')}", "19 digits [CARD]"),
    ("4111 1111 1111 1111 123", "[CARD] 123"),  # card followed by its CVV
    ("ref 12 4111 1111 1111 1111", "ref 12 [CARD]"),  # card-shaped groups win over a longer accident
    ("5500 0000 0000 0004 and 4111-1111-1111-1111", "[CARD] and [CARD]"),
]

SHOULD_NOT_REDACT = [
    # dates and times
    "delivered 2024-03-15",
    "on 15/03/2024 at 10:30",
    "15.03.2024",
    "05.03.2024 10:30",
    "03-15-2024",
    "2024.03.15",
    "open 09:00-17:00",
    "10.30-11.45",
    "from 9-5, Mon-Fri",
    # money
    "paid £1,234.56 for it",
    "refund of $ 1 234 please",
    "€1.234,56",
    "1 234 567 € is a lot",
    "$1,299.99",
    # durations, counts, years, percentages
    "on hold for 2 hours",
    "waited 45 minutes",
    "since 2019, and in 2024 too",
    "1999-2024",
    "50% off, then 0.5% fee",
    "rated 9/10",
    "0 1 2 3 4 5 6 7 8 9 10",
    # order numbers, ids and versions
    "order 12345",
    "ticket #A-123456",
    "order no. 987654321",
    "ref 0012345",
    "order 1234567890",  # documented: a bare 10-digit run without 0/+ is not taken for a phone
    "tracking 1Z999AA10123456784",
    "ref 20240315-0001",
    "version 10.0.19045.3803",
    "app v1.2.3",
    "server 192.168.100.1",
    "ISBN 978-3-16-148410-0",
    "postcode SW1A 1AA",
    # long digit runs: Luhn-invalid is no card, and over 15 digits unseparated is no phone
    "4111111111111112",
    "1234 5678 9012 3456",
    "0123 4567 8901 2345",
    "0123456789012345",
    "account 000123456",
    "+20 points better",
    "IBAN GB29 NWBK 6016 1331 9268 19",
    # half an email
    "support@company",
    "@jane_doe on twitter",
]


@pytest.mark.parametrize(("text", "expected"), SHOULD_REDACT)
def test_should_redact(text: str, expected: str) -> None:
    assert _one(text) == expected


@pytest.mark.parametrize("text", SHOULD_NOT_REDACT)
def test_should_not_redact(text: str) -> None:
    assert _one(text) == text


def test_tables_are_big_enough() -> None:
    assert len(SHOULD_REDACT) >= 25
    assert len(SHOULD_NOT_REDACT) >= 25


# --- counts, nulls, shape ---------------------------------------------------------------------------


def test_counts_by_kind_and_rows() -> None:
    texts = pl.Series(
        "comment",
        [
            "Call 020 7946 0958 or mail jane@example.com; card 4111 1111 1111 1111",
            None,
            "all fine, order 12345",
            "two phones: 415-555-2671 and +44 20 7946 0958",
            "two mails a@example.com b@example.org",
        ],
    )
    result = redact_texts(texts)
    assert isinstance(result, RedactionResult)
    assert result.text.to_list() == [
        "Call [PHONE] or mail [EMAIL]; card [CARD]",
        None,
        "all fine, order 12345",
        "two phones: [PHONE] and [PHONE]",
        "two mails [EMAIL] [EMAIL]",
    ]
    assert (result.redacted_rows, result.emails, result.phones, result.cards) == (3, 3, 3, 1)
    assert result.text.name == "comment"
    assert result.text.dtype == pl.String


def test_input_series_is_not_mutated() -> None:
    texts = pl.Series(["call 020 7946 0958", "card 4111 1111 1111 1111", "x@example.com", None])
    before = texts.to_list()
    redact_texts(texts)
    assert texts.to_list() == before


def test_empty_and_all_null() -> None:
    empty = redact_texts(pl.Series("t", [], dtype=pl.String))
    assert empty.text.len() == 0
    assert (empty.redacted_rows, empty.emails, empty.phones, empty.cards) == (0, 0, 0, 0)
    nulls = redact_texts(pl.Series([None, None]))
    assert nulls.text.to_list() == [None, None]
    assert nulls.text.dtype == pl.String


def test_card_takes_precedence_over_phone() -> None:
    """A card number with spaces also fits the phone shapes: it must be counted as a card."""
    result = redact_texts(pl.Series(["4111 1111 1111 1111"]))
    assert (result.cards, result.phones) == (1, 0)


def test_unicode_digits() -> None:
    assert _one("card ４１１１ １１１１ １１１１ １１１１") == "card [CARD]"
    assert _one("call ٠٢٠ ٧٩٤٦ ٠٩٥٨") == "call [PHONE]"


def test_adjacent_phones_need_second_pass_but_are_all_counted() -> None:
    """The head/tail guard can swallow a shared separator; the re-run on changed rows finds the rest."""
    result = redact_texts(pl.Series(["020 7946 0958, 07700 900123, 415-555-2671"]))
    assert result.text[0] == "[PHONE], [PHONE], [PHONE]"
    assert (result.phones, result.redacted_rows) == (3, 1)


def test_pathological_digit_runs_stay_fast() -> None:
    """Long pasted digit runs must neither recurse deeply nor go quadratic (one row, well under a second)."""
    result = redact_texts(pl.Series(["4111 1111 1111 1111 " * 2000, "1 " * 50_000, "1234-" * 20_000]))
    assert result.cards == 2000
    assert result.text[0] == "[CARD] " * 2000
    assert result.text[1] == "1 " * 50_000


def test_python_only_sees_card_candidate_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-row Luhn step must be called for the few 13+ digit rows only, never for every row."""
    calls: list[str] = []
    real = redact_module._redact_cards_in_text

    def spy(text: str) -> tuple[str, int]:
        calls.append(text)
        return real(text)

    monkeypatch.setattr(redact_module, "_redact_cards_in_text", spy)
    texts = pl.Series(["nice shop, order 12345"] * 5000 + ["card 4111 1111 1111 1111", "call 020 7946 0958"])
    result = redact_texts(texts)
    assert calls == ["card 4111 1111 1111 1111"]
    assert (result.cards, result.phones, result.redacted_rows) == (1, 1, 2)


# --- luhn ---------------------------------------------------------------------------------------------


def _reference_luhn(number: str) -> bool:
    """Textbook formulation, written differently on purpose: double every second digit from the right."""
    digits = [int(c) for c in number]
    checksum = sum(digits[-1::-2])
    for d in digits[-2::-2]:
        checksum += sum(divmod(d * 2, 10))
    return checksum % 10 == 0


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("4111111111111111", True),
        ("4111 1111 1111 1111", True),
        ("4111-1111-1111-1111", True),
        ("4111111111111112", False),
        ("79927398713", True),
        ("0", True),
        ("", False),
        ("41a1", False),
        ("4111.1111.1111.1111", False),
    ],
)
def test_luhn_examples(number: str, valid: bool) -> None:
    assert luhn_valid(number) is valid


@given(st.text(alphabet="0123456789", min_size=1, max_size=30))
def test_luhn_agrees_with_reference(number: str) -> None:
    assert luhn_valid(number) == _reference_luhn(number)


@given(st.text(alphabet="0123456789", min_size=1, max_size=40), st.data())
def test_luhn_prefix_sums_agree_with_luhn_valid(digits: str, data: st.DataObject) -> None:
    """The O(1) slice check used inside long digit runs must give luhn_valid's answer for every slice."""
    sums = redact_module._LuhnSums(digits)
    start = data.draw(st.integers(0, len(digits)))
    stop = data.draw(st.integers(start, len(digits)))
    assert sums.valid(start, stop) == luhn_valid(digits[start:stop])


@given(st.text(alphabet="0123456789", min_size=12, max_size=18))
def test_luhn_check_digit_makes_valid(body: str) -> None:
    assert luhn_valid(_with_check_digit(body))
    wrong = str((int(_with_check_digit(body)[-1]) + 1) % 10)
    assert not luhn_valid(body + wrong)


# --- properties ------------------------------------------------------------------------------------------

_FRAGMENTS = st.sampled_from(
    [
        "020 7946 0958",
        "+44 20 7946 0958",
        "(415) 555-2671",
        "4111 1111 1111 1111",
        "4111111111111111",
        "jane@example.com",
        "a.b@c.de",
        "2024-03-15",
        "10:30",
        "£1,234.56",
        "order 12345",
        "0044",
        "0",
        "-",
        ".",
        " ",
        "+",
        "(",
        ")",
        "@",
        ", ",
    ]
)
_TEXTS = st.lists(
    st.one_of(
        _FRAGMENTS,
        st.text(alphabet="0123456789 .-+()@ab_:,", max_size=24),
        st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=8),
    ),
    max_size=8,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), _TEXTS), max_size=6))
def test_redaction_is_idempotent(texts: list[str | None]) -> None:
    once = redact_texts(pl.Series(texts, dtype=pl.String))
    twice = redact_texts(once.text)
    assert twice.text.to_list() == once.text.to_list()
    assert (twice.redacted_rows, twice.emails, twice.phones, twice.cards) == (0, 0, 0, 0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), _TEXTS), max_size=6))
def test_counts_are_consistent(texts: list[str | None]) -> None:
    result = redact_texts(pl.Series(texts, dtype=pl.String))
    assert result.text.len() == len(texts)
    assert result.text.is_null().to_list() == [t is None for t in texts]
    changed = sum(1 for a, b in zip(texts, result.text.to_list(), strict=True) if a != b)
    assert result.redacted_rows == changed
    assert result.emails + result.phones + result.cards >= changed
    tokens = sum(
        (b or "").count(tok) - (a or "").count(tok)
        for a, b in zip(texts, result.text.to_list(), strict=True)
        for tok in ("[EMAIL]", "[PHONE]", "[CARD]")
    )
    assert tokens == result.emails + result.phones + result.cards


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.text(alphabet=st.characters(exclude_categories=("Nd", "Cs"), exclude_characters="@")),
        ),
        max_size=8,
    )
)
def test_texts_without_digits_or_at_are_unchanged(texts: list[str | None]) -> None:
    result = redact_texts(pl.Series(texts, dtype=pl.String))
    assert result.text.to_list() == texts
    assert (result.redacted_rows, result.emails, result.phones, result.cards) == (0, 0, 0, 0)
