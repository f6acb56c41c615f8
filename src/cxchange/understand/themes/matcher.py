"""Rule-based theme assignment: a taxonomy's keywords and example phrases compiled into one regex.

Pure and deterministic: the same text and the same theme specs always give the same mentions, which
is what lets an assignment record the taxonomy version that made it. Matching is whole-word and
case-insensitive, tolerant of common English inflections ("queue" also finds "queues", "queued",
"queuing"); a keyword ending in `*` is a prefix ("refund*"); the words of a multi-word keyword may
be separated by any spaces or punctuation ("on hold", "on-hold"). Example phrases match word for
word, without inflections. A child theme's mention also counts for its ancestors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

# A keyword in this share of the comments would, as a rule, tag a third of the store: too broad to be one.
TOO_BROAD = 0.3

_TOKEN = re.compile(r"\w+")
_SUFFIXES = ("s", "es", "ed", "d", "ing", "er", "ers", "ly")
_STEM_SUFFIXES = ("ing", "ed", "es", "er", "ers")


@dataclass(frozen=True, slots=True)
class ThemeSpec:
    """What matching needs to know about one theme."""

    id: int
    name: str
    keywords: tuple[str, ...]
    examples: tuple[str, ...] = ()
    parent_id: int | None = None


@dataclass(frozen=True, slots=True)
class Mention:
    theme_id: int
    start: int
    end: int
    keyword: str
    hits: int = 1  # how many times the theme's terms occur in the text


def rule_relevance(hits: int) -> float:
    """Relevance of a keyword-rule theme: 0.5 for one mention, 0.75 for two, ... (more says more)."""
    return round(1.0 - 0.5 ** max(hits, 1), 4)


@dataclass(frozen=True, slots=True)
class _Term:
    theme_id: int
    term: str
    rest: tuple[frozenset[str], ...]  # allowed forms of each following word
    prefix_last: bool  # the last word is a prefix ("refund*")


@dataclass
class Matcher:
    """Compiled form of a list of ThemeSpec; picklable (it is shipped to Dask workers).

    Text is cut into words once; each word is looked up in a dict of first words, so the cost
    per comment grows with its length, not with the size of the taxonomy.
    """

    specs: list[ThemeSpec]
    first: dict[str, list[_Term]] = field(init=False, default_factory=dict)
    prefixes: list[tuple[str, _Term]] = field(init=False, default_factory=list)
    ancestors: dict[int, tuple[int, ...]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.ancestors = _ancestors(self.specs)
        for spec in self.specs:
            for kw in spec.keywords:
                self._add(spec.id, kw, inflect=True)
            for ex in spec.examples:
                self._add(spec.id, ex, inflect=False)
        # Longer terms first, so "waiting time" wins over "waiting" at the same position.
        for terms in self.first.values():
            terms.sort(key=lambda t: (-len(t.rest), t.term))

    def _add(self, theme_id: int, term: str, *, inflect: bool) -> None:
        text = term.strip().lower()
        prefix = inflect and text.endswith("*")
        words = _TOKEN.findall(text.rstrip("*"))
        if not words:
            return
        forms = [frozenset([w]) for w in words]
        if inflect and not prefix:
            forms[-1] = _inflections(words[-1])
        if prefix and len(words) == 1:
            self.prefixes.append((words[0], _Term(theme_id, term.strip(), (), True)))
            return
        entry = _Term(theme_id, term.strip(), tuple(forms[1:]), prefix)
        for form in forms[0]:
            self.first.setdefault(form, []).append(entry)

    def mentions(self, text: str | None) -> list[Mention]:
        """Every theme mention in `text`; one Mention per theme (its first matching span, and how many
        times its terms occur)."""
        if not text:
            return []
        tokens = [(m.group().lower(), m.start(), m.end()) for m in _TOKEN.finditer(text)]
        seen: dict[int, Mention] = {}
        hits: dict[int, int] = {}
        for i, (word, start, end) in enumerate(tokens):
            found: list[tuple[_Term, int]] = []
            for term in self.first.get(word, ()):
                last = _follow(tokens, i, term)
                if last is not None:
                    found.append((term, last))
            for pre, term in self.prefixes:
                if word.startswith(pre):
                    found.append((term, end))
            here: set[int] = set()  # one hit per theme and position, however many of its terms match
            for term, stop in found:
                for tid in (term.theme_id, *self.ancestors.get(term.theme_id, ())):
                    if tid not in seen:
                        seen[tid] = Mention(tid, start, stop, term.term)
                    here.add(tid)
            for tid in here:
                hits[tid] = hits.get(tid, 0) + 1
        return sorted(
            (Mention(m.theme_id, m.start, m.end, m.keyword, hits[m.theme_id]) for m in seen.values()),
            key=lambda x: (x.start, x.theme_id),
        )

    def match_many(self, texts: Iterable[str | None]) -> list[list[Mention]]:
        return [self.mentions(t) for t in texts]


def _follow(tokens: list[tuple[str, int, int]], i: int, term: _Term) -> int | None:
    """End offset if the words after token i match the rest of `term`, else None."""
    if term.rest and i + len(term.rest) >= len(tokens):
        return None
    for j, forms in enumerate(term.rest, start=1):
        word = tokens[i + j][0]
        is_last = j == len(term.rest)
        if word in forms or (is_last and term.prefix_last and any(word.startswith(f) for f in forms)):
            continue
        return None
    return tokens[i + len(term.rest)][2]


def _inflections(word: str) -> frozenset[str]:
    """The word and its common English inflections ("queue": queues, queued, queuing, …)."""
    if not word[-1:].isalpha():
        return frozenset([word])
    forms = {word, *(word + s for s in _SUFFIXES)}
    if word.endswith("e") and len(word) > 3:
        forms.update(word[:-1] + s for s in _STEM_SUFFIXES)
    return frozenset(forms)


def _ancestors(specs: Sequence[ThemeSpec]) -> dict[int, tuple[int, ...]]:
    parent = {s.id: s.parent_id for s in specs}
    out: dict[int, tuple[int, ...]] = {}
    for s in specs:
        chain: list[int] = []
        p = s.parent_id
        while p is not None and p in parent and p not in chain and p != s.id:
            chain.append(p)
            p = parent[p]
        out[s.id] = tuple(chain)
    return out


def specs_from_rows(rows: Iterable[Mapping[str, object]]) -> list[ThemeSpec]:
    """ThemeSpec from dicts with id, name, keywords, examples, parent_id (as stored)."""
    return [
        ThemeSpec(
            id=int(r["id"]),  # type: ignore[call-overload]
            name=str(r["name"]),
            keywords=tuple(str(k) for k in (r.get("keywords") or ())),  # type: ignore[attr-defined]
            examples=tuple(str(e) for e in (r.get("examples") or ())),  # type: ignore[attr-defined]
            parent_id=r.get("parent_id"),  # type: ignore[arg-type]
        )
        for r in rows
    ]
