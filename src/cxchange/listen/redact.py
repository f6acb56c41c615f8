"""Redact personal data (emails, phone numbers, payment cards) from free-text feedback.

Feedback exports routinely contain "call me on 07700 900123" or a pasted card number; that text must not
reach the database, the analysts or an embedding model. Imports run to millions of rows, so everything is
done with vectorised polars string expressions (Rust regex); Python only sees the few rows that hold a
13-19 digit run, because the Luhn check cannot be written as a regex.

Order matters: emails first (their local part may hold digits), then cards (a card looks like a phone),
then phones. The whole pass is repeated on the rows it changed until nothing more changes, so the result is
a fixpoint: redacting redacted text changes nothing.

What counts as a phone (pattern families, tried leftmost-first):
  * international: ``+`` or ``00`` then a country code and digit groups with single ``space . -``
    separators, optional ``(0)`` or ``(area)``: ``+44 20 7946 0958``, ``+1 (415) 555-2671``,
    ``0044 20 7946 0958``; or an unseparated run (``+14155552671``: 7-15 digits; ``00...``: 11-15 digits);
  * North American ``(415) 555-2671``, ``415-555-2671``, ``415.555.2671``, ``1-800-555-0199``;
  * trunk-prefixed national (a leading ``0`` then a non-zero digit): ``020 7946 0958``, ``07700 900123``,
    ``0161 496 0000``, ``(020) 7946 0958``, ``030 12345678``, ``06 12 34 56 78`` (the same separator
    throughout), or an unseparated 10-11 digit run ``07700900123``.

Residual limitations (deliberate trade-offs, pinned by tests where useful):
  * a bare 10-digit run without a leading 0 or ``+`` (``4155552671``) and 7-digit local numbers
    (``555-2671``) are left alone: they cannot be told apart from order and account numbers;
  * a zero-padded 10-11 digit reference (``0123456789``) is redacted as a phone;
  * phone numbers written with unusual grouping (``+44 2079 460958`` is fine, ``0 20 79 46 09 58`` is not)
    or with words (``oh seven seven...``) are missed; extensions (``x123``) are kept;
  * a phone glued to a word or to another digit group (``call020 7946 0958``, ``12 020 7946 0958``) is
    kept: it is indistinguishable from a longer reference number;
  * any Unicode decimal digits count, but the shapes that start with a literal 0 or 1 only know those
    digits in ASCII, Arabic-Indic, Persian, Devanagari, Bengali, Thai and fullwidth forms;
  * a card is 13-19 digits, not starting with 0, separated only by single spaces or dashes and passing
    Luhn; inside a longer separated digit run the best Luhn-valid sub-run of whole groups wins (card-like
    grouping, then length), which can occasionally pick the wrong groups; about 1 in 10 random 13-19
    digit IDs pass Luhn and are redacted as cards (over-redaction is the safe side);
  * emails are ``local@domain.tld``; obfuscated forms (``john at example dot com``) are missed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

__all__ = ["CARD_TOKEN", "EMAIL_TOKEN", "PHONE_TOKEN", "RedactionResult", "luhn_valid", "redact_texts"]

EMAIL_TOKEN = "[EMAIL]"
PHONE_TOKEN = "[PHONE]"
CARD_TOKEN = "[CARD]"

# local@domain.tld; \w is Unicode so "jörg@example.de" goes whole instead of leaving "jö" behind.
_EMAIL = r"[\w.%+\-]+@[\w\-]+(?:\.[\w\-]+)*\.[^\W\d_]{2,}"

# Rows holding 13+ digits separated by at most single spaces/dashes: the only ones that may hold a card.
_CARD_CANDIDATE = r"\d(?:[ \-]?\d){12}"

_S = r"[ .\-]"  # one phone separator
# \d is Unicode (fullwidth and Arabic-Indic digits are common in some markets), so the literal zeros and
# ones of the phone shapes are written as classes covering the scripts we expect to meet.
# Zero in ASCII, Arabic-Indic, Persian, Devanagari, Bengali, Thai and fullwidth digits.
_Z = "[0\u0660\u06f0\u0966\u09e6\u0e50\uff10]"
_NZ = rf"[\d--{_Z}]"  # any other digit
_ONE = "[1\u0661\u06f1\uff11]"
# Alternatives start at a digit, '+' or '(' and end at a digit; the word-boundary and "not part of a
# longer digit run" checks live in the shared head/tail groups below (no \b: it would stop the regex
# engine from using its fast DFA, 20x slower).
_PHONE_PARTS = (
    # International, separated: country code, optional (0)/(area), then separated digit groups.
    rf"\+{_NZ}\d{{0,2}}{_S}?(?:\({_Z}?\d{{1,4}}\){_S}?)?\d{{1,4}}(?:{_S}\d{{2,8}}){{1,4}}",
    rf"{_Z}{_Z}{_NZ}\d{{0,2}}{_S}(?:\({_Z}?\d{{1,4}}\){_S}?)?\d{{1,4}}(?:{_S}\d{{2,8}}){{1,4}}",
    # International, unseparated (E.164 allows at most 15 digits).
    rf"\+{_NZ}\d{{6,14}}",
    rf"{_Z}{_Z}{_NZ}\d{{8,12}}",
    # North American Numbering Plan: 3-3-4 with separators, optional leading 1.
    rf"(?:{_ONE}{_S}?\(\d{{3}}\){_S}?|{_ONE}{_S}\d{{3}}{_S}|\(\d{{3}}\){_S}?|\d{{3}}{_S})\d{{3}}{_S}\d{{4}}",
    # Trunk-prefixed national numbers (UK, DE, NL, ...): area code 0X.. then subscriber digits.
    rf"\({_Z}{_NZ}\d{{0,3}}\){_S}?\d{{3,4}}{_S}?\d{{3,4}}",
    rf"{_Z}{_NZ}\d{{1,3}}{_S}\d{{3,4}}{_S}?\d{{4}}",
    rf"{_Z}{_NZ}\d{{1,3}}{_S}\d{{5,8}}",
    # French style pairs with one consistent separator (so dates like 05.03.2024 10:30 stay).
    rf"{_Z}{_NZ}(?: \d{{2}}){{4}}",
    rf"{_Z}{_NZ}(?:\.\d{{2}}){{4}}",
    rf"{_Z}{_NZ}(?:-\d{{2}}){{4}}",
    # Unseparated national number: 0 + 9-10 digits (07700900123, 0612345678).
    rf"{_Z}{_NZ}\d{{8,9}}",
)
# Not glued to a word, and not the head or tail of a longer digit run ("0123 4567 8901 2345" is no
# phone). Rust regex has no look-around, so the neighbouring characters are matched and written back.
_PHONE_HEAD = r"(?P<head>^|[^\w .\-]|[^\d][ .\-])"
_PHONE_TAIL = r"(?P<tail>$|[^\w .\-]|[ .\-]$|[ .\-][^\d])"
_PHONE = _PHONE_HEAD + "(?:" + "|".join(f"(?:{part})" for part in _PHONE_PARTS) + ")" + _PHONE_TAIL
_PHONE_REPLACEMENT = "${head}" + PHONE_TOKEN + "${tail}"

# Python side (few rows): maximal runs of digit groups joined by single spaces/dashes, not glued to a
# word or a leading '+' (which makes it an international phone).
_DIGIT_RUN = re.compile(r"(?<![\w+])\d+(?:[ \-]\d+)*")
_GROUP = re.compile(r"\d+")


@dataclass(frozen=True)
class RedactionResult:
    """Redacted texts plus counts, so the importer can report what it removed without re-scanning."""

    text: pl.Series
    redacted_rows: int
    emails: int
    phones: int
    cards: int


def luhn_valid(digits: str) -> bool:
    """Luhn (mod 10) check used by card numbers; spaces and dashes are ignored, anything else fails."""
    cleaned = digits.replace(" ", "").replace("-", "")
    if not cleaned or not cleaned.isdecimal():
        return False
    total = 0
    for position, char in enumerate(reversed(cleaned)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _card_shaped(lengths: list[int]) -> bool:
    """Group lengths printed on real cards: one block, 4-4-4-4(-3) style, or Amex/Diners 4-6-5 / 4-6-4."""
    if len(lengths) == 1 or lengths in ([4, 6, 5], [4, 6, 4]):
        return True
    return all(n == 4 for n in lengths[:-1]) and 1 <= lengths[-1] <= 4


class _LuhnSums:
    """Prefix sums that give the Luhn checksum of any slice of a digit string in O(1).

    A digit is doubled when its distance from the slice's right end is odd, i.e. when its position parity
    differs from that of the last digit, so keeping sums per position parity is enough.
    """

    def __init__(self, digits: str) -> None:
        plain = [[0], [0]]  # plain[parity][i]: sum of digits at positions < i with that parity
        doubled = [[0], [0]]
        for position, char in enumerate(digits):
            value = int(char)
            twice = value * 2 - 9 if value > 4 else value * 2
            parity = position % 2
            plain[parity].append(plain[parity][-1] + value)
            plain[1 - parity].append(plain[1 - parity][-1])
            doubled[parity].append(doubled[parity][-1] + twice)
            doubled[1 - parity].append(doubled[1 - parity][-1])
        self.plain, self.doubled = plain, doubled

    def valid(self, start: int, stop: int) -> bool:
        """Whether digits[start:stop] passes Luhn (same answer as luhn_valid on that slice)."""
        if stop <= start:
            return False
        same = (stop - 1) % 2
        total = self.plain[same][stop] - self.plain[same][start]
        total += self.doubled[1 - same][stop] - self.doubled[1 - same][start]
        return total % 10 == 0


def _best_card_window(groups: list[str], lo: int, hi: int) -> tuple[int, int] | None:
    """Best run of whole groups in groups[lo:hi] that is a card: 13-19 digits, Luhn-valid.

    Preference: card-shaped grouping, then more digits, then leftmost, so "12 4111 1111 1111 1111" gives
    the card rather than a Luhn-valid accident that starts with the "12".
    """
    offsets = [0]  # digit offset of each group within the slice
    for group in groups[lo:hi]:
        offsets.append(offsets[-1] + len(group))
    luhn = _LuhnSums("".join(groups[lo:hi]))
    best: tuple[bool, int, int] | None = None  # (shaped, digit count, -start)
    best_span: tuple[int, int] | None = None
    for start in range(lo, hi):
        if int(groups[start][0]) == 0:
            continue  # no issued card number starts with 0; 00.. is an international phone prefix
        for end in range(start, hi):
            count = offsets[end + 1 - lo] - offsets[start - lo]
            if count > 19:
                break
            if count < 13 or not luhn.valid(offsets[start - lo], offsets[end + 1 - lo]):
                continue
            key = (_card_shaped([len(g) for g in groups[start : end + 1]]), count, -start)
            if best is None or key > best:
                best, best_span = key, (start, end)
    return best_span


# Runs longer than this many groups (pasted tables, not cards) are searched in slices, which keeps the
# work linear; a card straddling a slice boundary of such a run can be missed.
_MAX_RUN_GROUPS = 64


def _redact_run_cards(run: str) -> tuple[str, int]:
    """Replace card numbers inside one digit run (digit groups joined by single spaces/dashes)."""
    spans = [(m.start(), m.end()) for m in _GROUP.finditer(run)]
    groups = [run[a:b] for a, b in spans]
    hits: list[tuple[int, int]] = []
    todo = [(lo, min(lo + _MAX_RUN_GROUPS, len(groups))) for lo in range(0, len(groups), _MAX_RUN_GROUPS)]
    while todo:  # explicit stack, not recursion: a run may hold many cards
        lo, hi = todo.pop()
        window = _best_card_window(groups, lo, hi)
        if window is not None:
            hits.append(window)
            todo += [(lo, window[0]), (window[1] + 1, hi)]
    if not hits:
        return run, 0
    pieces: list[str] = []
    last = 0
    for first, final in sorted(hits):
        pieces += [run[last : spans[first][0]], CARD_TOKEN]
        last = spans[final][1]
    pieces.append(run[last:])
    return "".join(pieces), len(hits)


def _redact_cards_in_text(text: str) -> tuple[str, int]:
    """Card redaction for one text (only called for rows flagged by the vectorised candidate filter)."""
    found = 0
    pieces: list[str] = []
    last = 0
    for match in _DIGIT_RUN.finditer(text):
        if sum(c.isdecimal() for c in match.group()) < 13:
            continue
        replaced, n = _redact_run_cards(match.group())
        if n:
            pieces.append(text[last : match.start()])
            pieces.append(replaced)
            last = match.end()
            found += n
    if not found:
        return text, 0
    pieces.append(text[last:])
    return "".join(pieces), found


def _replace_in_rows(
    texts: pl.Series, rows: pl.Series, pattern: str, replacement: str, counts: pl.Series
) -> tuple[pl.Series, pl.Series]:
    """Count and replace `pattern` only in `rows` (indices found by a cheap whole-column scan)."""
    if len(rows) == 0:
        return texts, counts
    subset = texts.gather(rows)
    counts = counts.scatter(rows, subset.str.count_matches(pattern).fill_null(0).cast(pl.UInt32))
    return texts.scatter(rows, subset.str.replace_all(pattern, replacement)), counts


def _one_pass(texts: pl.Series) -> tuple[pl.Series, pl.Series, pl.Series, pl.Series]:
    """One redaction pass: (new texts, emails per row, cards per row, phones per row).

    Each kind costs one fast whole-column scan to find its rows; the precise count/replace (and, for
    cards, the Python Luhn check) only runs on the rows found.
    """

    def zeros() -> pl.Series:
        return pl.zeros(len(texts), dtype=pl.UInt32, eager=True)

    out = texts.clone()  # Series.scatter works in place: never touch the caller's series

    email_rows = out.str.contains("@", literal=True).fill_null(False).arg_true()
    out, emails = _replace_in_rows(out, email_rows, _EMAIL, EMAIL_TOKEN, zeros())

    cards = zeros()
    card_rows = out.str.contains(_CARD_CANDIDATE).fill_null(False).arg_true()
    if len(card_rows):
        redacted = [_redact_cards_in_text(t) for t in out.gather(card_rows).to_list()]
        out = out.scatter(card_rows, pl.Series([t for t, _ in redacted], dtype=pl.String))
        cards = cards.scatter(card_rows, pl.Series([c for _, c in redacted], dtype=pl.UInt32))

    phone_rows = out.str.contains(_PHONE).fill_null(False).arg_true()
    out, phones = _replace_in_rows(out, phone_rows, _PHONE, _PHONE_REPLACEMENT, zeros())
    return out, emails, cards, phones


def redact_texts(texts: pl.Series) -> RedactionResult:
    """Replace emails, payment cards and phone numbers by tokens; nulls stay null, length is kept.

    Each pass only re-runs on rows the previous pass changed (a few percent), and every change removes at
    least one '@' or digit, so the loop ends; its result is stable under a further redaction.
    """
    out = texts.cast(pl.String)
    name = texts.name
    totals = {"emails": 0, "cards": 0, "phones": 0}
    redacted_rows = 0
    rows: pl.Series | None = None  # indices (into `out`) of the rows being re-run; None = all rows
    current = out
    while len(current):
        new, emails, cards, phones = _one_pass(current)
        changed = (emails + cards + phones) > 0
        n_changed = int(changed.sum())
        if n_changed == 0:
            break
        totals["emails"] += int(emails.sum())
        totals["cards"] += int(cards.sum())
        totals["phones"] += int(phones.sum())
        local = changed.arg_true()
        current = new.gather(local)
        if rows is None:
            redacted_rows = n_changed
            out = new
            rows = local
        else:
            rows = rows.gather(local)
            out = out.scatter(rows, current)
    return RedactionResult(
        text=out.rename(name),
        redacted_rows=redacted_rows,
        emails=totals["emails"],
        phones=totals["phones"],
        cards=totals["cards"],
    )
