"""Sentiment per theme mention: the score of the clause a mention sits in.

"The staff were lovely but the queue was endless" is one comment with two opposite feelings; the
comment's score says little about either theme. `split_clauses` cuts a text into clauses at
sentence ends, ";", line breaks, before contrast words ("but", "however", "although", "though",
"whereas", ", yet"), at a comma that starts a new subject (", the service was ...") and after the
comma that closes a leading "Although ..., " clause. `score_mentions` scores, for each mention
span, the clause containing it; `score_mentions_batch` does the same for many texts with one call
to the back-end (each distinct clause scored once), which is what large analyses should use.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterable, Sequence

from cxchange.understand.sentiment.base import SentimentBackend

Span = tuple[int, int]

_CUT = re.compile(
    r"""
      (?P<after>[.!?\u2026]+(?=[\s"')\]]|$)|;|\n)   # the clause ends after these
    | (?P<before>                                   # a new clause starts at these
          \b(?:but|however|(?:even\s+)?(?:although|though)|whereas)\b
        | (?<=,)\s*\byet\b
        | (?<=,)\s+(?=(?:the|my|our|their|his|her|its|it|they|we|i|you|this|that|these|those|he|she)\b)
      )
    """,
    re.I | re.X,
)
_SUBORDINATE = re.compile(r"(?:even\s+)?(?:although|though|whereas|while)\b[^,]*,", re.I)
_CONTENT = re.compile(r"\w", re.UNICODE)


def split_clauses(text: str) -> list[Span]:
    """Character spans (start, end) of the clauses of `text`, in order, without surrounding blanks."""
    cuts = [0]
    for m in _CUT.finditer(text):
        cuts.append(m.end() if m.lastgroup == "after" else m.start())
    cuts.append(len(text))
    spans: list[Span] = []
    for start, end in itertools.pairwise(cuts):
        if end <= start:
            continue
        # "Although the food was good, the service was slow": the comma ends the first clause.
        sub = _SUBORDINATE.match(text, _skip_blank(text, start, end), end)
        if sub and sub.end() < end:
            _add(spans, text, start, sub.end())
            start = sub.end()
        _add(spans, text, start, end)
    return spans


def _skip_blank(text: str, start: int, end: int) -> int:
    while start < end and (text[start].isspace() or text[start] in ",:-"):
        start += 1
    return start


def _add(spans: list[Span], text: str, start: int, end: int) -> None:
    start = _skip_blank(text, start, end)
    while end > start and text[end - 1].isspace():
        end -= 1
    if end <= start:
        return
    if not _CONTENT.search(text, start, end) and spans:
        spans[-1] = (spans[-1][0], end)  # "!!!", ":)" or an emoji alone belongs to the clause before
        return
    spans.append((start, end))


def _clause_of(clauses: list[Span], starts: list[int], span: Span) -> Span | None:
    """The clause containing the mention's start (a mention in a gap goes to the next clause)."""
    s, e = span
    if not clauses or s < 0 or e < s:
        return None
    i = bisect.bisect_right(starts, s) - 1
    if i >= 0 and s < clauses[i][1]:
        return clauses[i]
    if i + 1 < len(clauses):
        return clauses[i + 1]
    return clauses[-1] if s < clauses[-1][1] + 1 else None


def _plan(text: str, spans: Sequence[Span]) -> list[str | None]:
    clauses = split_clauses(text)
    starts = [c[0] for c in clauses]
    out: list[str | None] = []
    for span in spans:
        clause = _clause_of(clauses, starts, span)
        out.append(None if clause is None else text[clause[0] : clause[1]])
    return out


def score_mentions_batch(
    backend: SentimentBackend, items: Iterable[tuple[str, Sequence[Span]]]
) -> list[list[float | None]]:
    """For each (text, mention spans): the score of the clause around each mention (None: unscorable)."""
    plans = [_plan(text or "", spans) for text, spans in items]
    unique = list(dict.fromkeys(c for plan in plans for c in plan if c is not None))
    scored = dict(zip(unique, (s.score for s in backend.score(unique)), strict=True))
    return [[None if c is None else scored[c] for c in plan] for plan in plans]


def score_mentions(backend: SentimentBackend, text: str, spans: Sequence[Span]) -> list[float | None]:
    """The sentiment score of the clause containing each mention span, in the order of `spans`."""
    if not spans:
        return []
    return score_mentions_batch(backend, [(text, spans)])[0]
