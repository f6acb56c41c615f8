"""Emerging issues: themes whose recent share of comments is unusually high against their own past,
and words that suddenly appear together in recent comments no theme covers (a new theme forming).

Pure: days and ids in, ranked findings out. "Recent" is the last `window` days up to `end`; the
baseline is the `baseline` days before it, cut into windows of the same length, so a theme's
normal week-to-week wobble sets its own bar. The z-score of a theme's recent share combines that
wobble (robustly: median and MAD of the baseline windows' shares) with the sampling error of the
recent window:

    z = (share_recent − median(share_base)) / sqrt((1.4826 · MAD(share_base))² + p(1 − p) / n_recent)

Where a baseline window is too thin to hold a share (`THIN_WINDOW_MENTIONS`), median and MAD give way to
the two-proportion test of the recent share against the pooled baseline share.

Terms are many, so a new-phrase burst needs a much higher bar (Bonferroni over the terms tested).
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import TypedDict

import numpy as np

_WORD = re.compile(r"[a-z][a-z']+")
# A baseline window whose expected mentions of a theme are fewer than this cannot say what its share is
# (the Alexa reviews: weeks of 26-168 reviews, a theme at 3 %): the theme is judged on the pooled share.
THIN_WINDOW_MENTIONS = 5.0
_STOP = frozenset(
    """a about after again all also am an and any are as at be been before being but by can could did do
    does doing don't for from get got had has have having he her here him his how i i'm i've if in into is
    it it's its just me more most my no nor not now of on once only or other our out over own same she so
    some still such than that the their them then there these they this those through to too under until
    up very was we were what when where which while who why will with would you your yet ve ll re im dont
    didnt cant wont isnt really thanks thank one two get got go going went been""".split()
)


@dataclass(frozen=True, slots=True)
class Windows:
    end: int  # last day included (days since 1970-01-01)
    window: int
    baseline_windows: int

    def index(self, day: np.ndarray) -> np.ndarray:
        """0 = recent window, 1..k = baseline windows going back; -1 = outside."""
        age = (self.end - day) // self.window
        return np.where((age >= 0) & (age <= self.baseline_windows), age, -1)


def theme_spikes(
    comment_day: np.ndarray,
    mention_comment: np.ndarray,
    mention_theme: np.ndarray,
    windows: Windows,
    *,
    z_min: float = 3.0,
    min_count: int = 10,
    min_lift: float = 1.5,
) -> list[dict[str, float | int]]:
    """Per theme: recent count, expected count from the baseline, z. Only flagged themes returned."""
    k = windows.baseline_windows
    widx = windows.index(comment_day)
    totals = np.bincount(widx[widx >= 0], minlength=k + 1).astype(float)
    if totals[0] == 0 or totals[1:].sum() == 0:
        return []
    out: list[dict[str, float | int]] = []
    mwin = widx[mention_comment]
    for theme in np.unique(mention_theme):
        sel = (mention_theme == theme) & (mwin >= 0)
        counts = np.bincount(mwin[sel], minlength=k + 1).astype(float)
        recent = int(counts[0])
        valid = totals[1:] > 0
        shares = counts[1:][valid] / totals[1:][valid]
        pooled = float(counts[1:].sum() / totals[1:].sum())
        if float(np.median(totals[1:][valid])) * pooled >= THIN_WINDOW_MENTIONS:
            # Median and MAD, not mean and variance: an issue that began inside the baseline must not
            # raise its own bar.
            mean_share = float(np.median(shares))
            spread = 1.4826 * np.median(np.abs(shares - mean_share))
            var_share = float(spread**2) if shares.size > 1 else 0.0
            p = max(mean_share, 0.5 / totals[1:].sum())  # a theme never seen before still has a floor
            sd = math.sqrt(var_share + p * (1 - p) / totals[0])
        else:
            # Thin windows (a typical one expects under THIN_WINDOW_MENTIONS mentions): their shares are
            # mostly 0 and their median says nothing. The two-proportion test of the recent share against
            # the pooled baseline share, its variance under "no change" (a baseline low by chance must
            # not shrink its own error).
            mean_share = pooled
            p = max(float(counts.sum() / totals.sum()), 0.5 / totals.sum())
            sd = math.sqrt(p * (1 - p) * (1 / totals[0] + 1 / totals[1:].sum()))
        share_recent = recent / totals[0]
        z = (share_recent - mean_share) / sd if sd > 0 else 0.0
        expected = mean_share * totals[0]
        lift = share_recent / mean_share if mean_share > 0 else math.inf
        if recent >= min_count and z >= z_min and lift >= min_lift:
            out.append(
                {
                    "theme_id": int(theme),
                    "recent_count": recent,
                    "recent_share": round(share_recent, 4),
                    "baseline_mean": round(expected, 2),
                    "baseline_share": round(mean_share, 4),
                    "z": round(z, 2),
                }
            )
    return sorted(out, key=lambda r: -float(r["z"]))


def _terms(text: str) -> set[str]:
    words = [w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2]
    grams = set(words)
    grams.update(f"{a} {b}" for a, b in itertools.pairwise(words))
    return grams


class NewPhrase(TypedDict):
    """A candidate new theme: its strongest term names it; examples index the recent texts."""

    name: str
    terms: list[str]
    z: float
    recent_count: int
    baseline_mean: float
    examples: list[int]


def new_phrases(
    recent_texts: Sequence[str],
    baseline_texts: Sequence[str],
    *,
    min_count: int = 10,
    alpha: float = 0.001,
    min_lift: float = 3.0,
    overlap: float = 0.5,
) -> list[NewPhrase]:
    """Groups of terms far more frequent in recent (unthemed) comments than in the baseline.

    Each group is a candidate new theme: its name is its strongest term, its examples the recent
    comments that carry the most of its terms.
    """
    if not recent_texts or not baseline_texts:
        return []
    recent_sets = [_terms(t) for t in recent_texts]
    base_df = Counter(g for t in baseline_texts for g in _terms(t))
    rec_df = Counter(g for s in recent_sets for g in s)
    n_r, n_b = len(recent_texts), len(baseline_texts)
    tested = [g for g, c in rec_df.items() if c >= min_count]
    if not tested:
        return []
    # Bonferroni over the terms tested; the standard library's normal quantile (scipy.stats would cost
    # every command that loads this module ~0.5 s of imports).
    z_bar = -NormalDist().inv_cdf(alpha / len(tested))
    hits: list[tuple[float, str]] = []
    for g in tested:
        k = rec_df[g]
        p0 = (base_df.get(g, 0) + 1) / (n_b + 2)
        z = (k - n_r * p0) / math.sqrt(n_r * p0 * (1 - p0))
        if z >= z_bar and (k / n_r) >= min_lift * p0:
            hits.append((z, g))
    hits.sort(reverse=True)
    docs = {g: {i for i, s in enumerate(recent_sets) if g in s} for _, g in hits}
    groups: list[tuple[str, float, list[str], set[int]]] = []  # name, z, terms, the recent comments
    for z, g in hits:
        for _, _, terms, members in groups:
            if len(members & docs[g]) >= overlap * min(len(members), len(docs[g])):
                terms.append(g)
                members |= docs[g]
                break
        else:
            groups.append((g, round(z, 2), [g], set(docs[g])))
    out: list[NewPhrase] = []
    for name, z, terms, members in groups:
        ranked = sorted(members, key=lambda i: (-len(recent_sets[i] & set(terms)), i))
        base_rate = base_df.get(name, 0) / n_b
        out.append(
            NewPhrase(
                name=name,
                terms=terms,
                z=z,
                recent_count=len(members),
                baseline_mean=round(base_rate * n_r, 2),
                examples=[int(i) for i in ranked[:3]],
            )
        )
    return out
