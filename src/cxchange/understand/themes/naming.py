"""Naming and describing themes: characteristic terms, a noun-phrase name, keywords as written,
sizes and typical comments; and the record of themes as the clustering steps build them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse

__all__ = ["OTHER_NAME", "OVERALL_NAME", "ThemeBuild", "ctfidf", "describe", "pick_name", "top_terms"]

OVERALL_NAME, OTHER_NAME = "Overall experience", "Other topics"
VARIANT_SHARE = 0.15  # another written form of a keyword is listed at this share of its uses


@dataclass
class ThemeBuild:
    """What the steps fill in: theme records, and per text its label, strength and memberships."""

    themes: list[dict[str, Any]]
    labels: np.ndarray
    strength: np.ndarray  # how clearly a text belongs to its label, to pick representatives
    memberships: list[list[int]]
    nouns: frozenset[str] = frozenset()  # folded words this corpus uses as nouns: what a name may be

    def add(self, terms: list[str], parent: int | None, name: str | None = None, name_term: str = "") -> int:
        self.themes.append({"terms": terms, "parent": parent, "name": name, "name_term": name_term})
        return len(self.themes) - 1


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


def pick_name(scored: list[tuple[str, float]], avoid: set[str], nouns: frozenset[str] = frozenset()) -> str:
    """A theme's name: its leading term, or a key phrase nearly as strong (``took money`` over ``ask``).

    With ``nouns``, a name says what the comments are about: a noun ("refund") or a phrase ending in
    one ("late refund"), never a lone verb or adjective ("called", "hard") when a noun is on the list.
    """
    options = [(t, v) for t, v in scored if not set(t.split(" ")) & avoid] or scored
    if nouns:
        options = [o for o in options if o[0].split(" ")[-1] in nouns] or options
    if not options:
        return ""
    first, weight = options[0]
    if " " in first:
        return first
    return next((t for t, v in options[1:4] if " " in t and v >= 0.5 * weight), first)



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
    surf = _surfaces(tokens, fold, {t for th in themes for t in [*th["terms"], th["name_term"]] if t})
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
            options = [surf[t][0] for t in [th["name_term"], *th["terms"]] if t]
            name = next((o for o in options if _cap(o) not in used), " / ".join(options[:2]) or "other")
            th["name"] = _cap(name)
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


def _cap(name: str) -> str:
    return name[:1].upper() + name[1:]
