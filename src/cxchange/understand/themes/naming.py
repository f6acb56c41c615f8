"""Naming and describing themes: characteristic terms, a noun-phrase name, keywords as written,
sizes and typical comments; and the record of themes as the clustering steps build them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse

from cxchange.understand.themes.text import is_generic

__all__ = [
    "OTHER_NAME",
    "OVERALL_NAME",
    "ThemeBuild",
    "ctfidf",
    "describe",
    "name_options",
    "pick_name",
    "top_terms",
]

OVERALL_NAME, OTHER_NAME = "Overall experience", "Other topics"
NAME_CANDIDATES = 40  # terms a name is looked for among (a noun phrase may rank below the keywords)
VARIANT_SHARE = 0.15  # another written form of a keyword is listed at this share of its uses
# Pieces of words the tokeniser splits off ("non-smoking", "hotels.com", "self-service"): fine as part of
# a keyword phrase, meaningless as a theme's whole name ("Non", "Com").
# A name says what a theme is most about: a noun among its NAME_WINDOW strongest terms, else its strongest
# phrase there, then among its NAME_KEYWORDS, and only then a noun further down. The noun test misses the
# commonest subjects of some corpora ("the chicken biryani": a noun after a noun; "delivery boy": a
# modifier), and a noun at rank 20 named 29 restaurant themes "Aroma" (biryani), "Buds" (taste), "Timing"
# (delivery), "Mark" (paratha).
NAME_WINDOW, NAME_KEYWORDS = 5, 10
NAME_FRAGMENTS = frozenset("non com net org www http https html pre anti self co ex multi semi mid".split())


@dataclass
class ThemeBuild:
    """What the steps fill in: theme records, and per text its label, strength and memberships."""

    themes: list[dict[str, Any]]
    labels: np.ndarray
    strength: np.ndarray  # how clearly a text belongs to its label, to pick representatives
    memberships: list[list[int]]
    nouns: frozenset[str] = frozenset()  # folded words this corpus uses as nouns: what a name may be
    acronyms: frozenset[str] = frozenset()  # words this corpus writes in capitals: a name does too

    def add(
        self, terms: list[str], parent: int | None, name: str | None = None, names: Sequence[str] = ()
    ) -> int:
        """``names``: candidate names, best first (``name_options``); the first one not taken is used."""
        self.themes.append(
            {"terms": terms, "parent": parent, "name": name, "name_term": names[0] if names else "",
             "names": list(names)}
        )  # fmt: skip
        return len(self.themes) - 1

    def add_scored(
        self, h_row: np.ndarray, h_all: np.ndarray, vocab: np.ndarray, n_keywords: int, parent: int | None,
        avoid: str = "",
    ) -> int:  # fmt: skip
        """A theme from a row of term weights: its top terms as keywords, a noun phrase as its name
        (looked for among more terms than the keywords); ``avoid``: the parent's name term."""
        scored = top_terms(h_row, h_all, vocab, NAME_CANDIDATES)
        return self.add(
            [t for t, _ in scored[:n_keywords]], parent, names=name_options(scored, avoid, self.nouns)
        )


def top_terms(h_row: np.ndarray, h_all: np.ndarray, vocab: np.ndarray, n: int) -> list[tuple[str, float]]:
    """Terms that weigh most in this topic and mostly belong to it (distinct enough to match on)."""
    share = h_row / np.maximum(h_all.sum(0), 1e-12)
    score = h_row * np.sqrt(np.minimum(share, 1.0))
    out: list[tuple[str, float]] = []
    for j in np.argsort(-score, kind="stable")[: n * 4]:
        if score[j] <= 0:
            break
        term = str(vocab[j])
        # A phrase whose word is already listed adds little for matching (and vice versa), unless the
        # phrase is this topic's own.
        overlaps = any(term in o.split(" ") or o in term.split(" ") for o, _ in out if " " in o + term)
        if overlaps and not (" " in term and share[j] > 0.5):
            continue
        out.append((term, float(score[j])))
        if len(out) == n:
            break
    return out


def name_options(
    scored: list[tuple[str, float]], avoid: str = "", nouns: frozenset[str] = frozenset()
) -> list[str]:
    """Candidate names for a theme, best first: what the comments are about, as a noun phrase.

    A phrase ending in a noun ("late refund", "virtual card") or a noun ("refund") leads, its strongest
    phrase first when nearly as strong as the word; then other phrases; a lone word that is not a noun
    ("hard", "called") only when nothing else is there, and a verdict word then reads as an experience
    ("Good experience"). ``avoid``: the parent's name term: a sub-theme is not named the parent's name
    again ("Card > Card"), though a phrase with it is fine ("Card > Virtual card").
    """
    avoid_words = set(avoid.split(" ")) - {""}
    options = [(t, v) for t, v in scored if not set(t.split(" ")) <= avoid_words] or scored
    options = [(t, v) for t, v in options if t not in NAME_FRAGMENTS] or options
    if not options:
        return []
    nounish = [(t, v) for t, v in options if not nouns or t.split(" ")[-1] in nouns]
    ranked: list[str] = []
    head, listed = {t for t, _ in options[:NAME_WINDOW]}, {t for t, _ in options[:NAME_KEYWORDS]}
    if nounish and nounish[0][0] in head:
        first, weight = nounish[0]
        if " " not in first:  # its own phrase ("late refund" for "refund"), not another subject's
            ranked += [t for t, v in nounish[1:4] if first in t.split(" ") and v >= 0.5 * weight][:1]
        ranked.append(first)
    phrases = [t for t, _ in options if " " in t]
    head_words = {w for t in head for w in t.split(" ")}
    ranked += [t for t, _ in nounish if " " in t and t in listed and head_words & set(t.split(" "))]
    ranked += [t for t in phrases if t in head] + [t for t in phrases if t in listed]
    ranked += [t for t, _ in nounish]
    ranked += phrases
    rest = [t for t, _ in options if " " not in t]
    ranked += [f"{t} experience" if is_generic(t) else t for t in rest]
    return list(dict.fromkeys(ranked))


def pick_name(scored: list[tuple[str, float]], avoid: str = "", nouns: frozenset[str] = frozenset()) -> str:
    """The best of ``name_options`` ("" when there are no terms)."""
    return next(iter(name_options(scored, avoid, nouns)), "")


def ctfidf(counts: sparse.csr_matrix) -> np.ndarray:
    """Class-based TF-IDF (as in BERTopic): rows are clusters, each cluster's texts counted as one document.

    tf = the cluster's term counts over its total; idf = log(1 + mean cluster total / the term's count in
    all clusters): a term weighs most in the cluster that uses it a lot and the others do not.
    """
    c = np.asarray(counts.todense(), dtype=np.float64)
    totals = c.sum(1, keepdims=True)
    tf = c / np.maximum(totals, 1.0)
    idf = np.log1p(float(totals.mean()) / np.maximum(c.sum(0), 1.0))
    return tf * idf


def _surfaces(tokens: list[list[str | None]], fold: dict[str, str], needed: set[str]) -> dict[str, list[str]]:
    """Written forms of each folded term in ``needed``, commonest first: ``wait`` -> ``waiting``,
    ``wait``, ``waited``. The first reads best; all of them are worth matching on."""
    inverse: dict[str, list[str]] = {}
    for raw, base in fold.items():
        inverse.setdefault(base, []).append(raw)
    words = sorted({p for term in needed for p in term.split(" ")})  # sorted: same output in every process
    forms = {r: b for b in words for r in [b, *inverse.get(b, [])]}  # raw form -> needed base word
    phrases = {t for t in needed if " " in t}
    seen: dict[str, Counter[str]] = {}
    for toks in tokens:
        prev = None
        for t in toks:
            if t is None or t not in forms:
                prev = None
                continue
            seen.setdefault(forms[t], Counter())[t] += 1
            if prev is not None and (key := f"{forms[prev]} {forms[t]}") in phrases:
                seen.setdefault(key, Counter())[f"{prev} {t}"] += 1
            prev = t
    out = {}
    for term in needed:
        ranked = seen[term].most_common(3) if term in seen else [(term, 1)]
        total = sum(seen[term].values()) if term in seen else 1
        # Phrases: one form (listing "skirt looks", "skirt looked" adds noise); words: their common forms.
        out[term] = [
            f for i, (f, c) in enumerate(ranked) if i == 0 or (" " not in term and c >= VARIANT_SHARE * total)
        ]
    return out


def describe(
    b: ThemeBuild, tokens: list[list[str | None]], fold: dict[str, str], n_representatives: int
) -> None:
    """Names (unique: they are keys downstream), readable keywords, sizes and typical texts."""
    themes, labels, strength = b.themes, b.labels, b.strength
    names = {t for th in themes for t in th.get("names", [])}
    needed = (
        {t for th in themes for t in th["terms"]} | names | {t.removesuffix(" experience") for t in names}
    )
    surf = _surfaces(tokens, fold, {t for t in needed if t})
    below: dict[int, list[int]] = {i: [i] for i in range(len(themes))}
    for i in range(len(themes)):
        j = themes[i]["parent"]
        while j is not None:  # every ancestor counts this theme's texts too
            below[j].append(i)
            j = themes[j]["parent"]
    used: set[str] = set()
    for i, th in enumerate(themes):
        members = np.flatnonzero(np.isin(labels, below[i]))
        th["size"] = len(members)
        th["keywords"] = list(dict.fromkeys(f for t in th["terms"] for f in surf[t]))
        if not th["name"]:
            options = [_written(surf, t) for t in th.get("names", []) if t] or [
                surf[t][0] for t in th["terms"]
            ]
            name = next((o for o in options if _cap(o) not in used), " / ".join(options[:2]) or "other")
            th["name"] = _cap(_capitals(name, b.acronyms))
        while th["name"] in used:
            th["name"] += " (more)"
        used.add(th["name"])
        reps: list[int] = []
        wordings: set[str] = set()
        for d in members[np.argsort(-strength[members], kind="stable")]:  # strongest first, distinct wordings
            key = " ".join(w for w in tokens[d] if w)
            if key not in wordings:
                wordings.add(key)
                reps.append(int(d))
                if len(reps) == n_representatives:
                    break
        th["representatives"] = reps


def _capitals(name: str, acronyms: frozenset[str]) -> str:
    """``name`` with the words its corpus writes in capitals written so ("nearest ATM")."""
    if not acronyms:
        return name
    return " ".join(w.upper() if w in acronyms else w for w in name.split(" "))


def _cap(name: str) -> str:
    return name[:1].upper() + name[1:]


def _written(surf: dict[str, list[str]], term: str) -> str:
    """A candidate name as customers write it ("waiting time"), keeping an added " experience"."""
    if term in surf and surf[term][0] != term:
        return surf[term][0]
    base = term.removesuffix(" experience")
    return surf[base][0] + term[len(base) :] if base in surf else term
