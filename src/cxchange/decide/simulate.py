"""The simulator: "if we fixed X for a share of the customers who complain about it…", on NPS or on a
CSAT, CES or rating (any score that is the mean of points per answer, `measure.scale`).

Method (printed with every result):

* A respondent is *affected* by a fixed theme when their comment mentions it negatively.
* Each affected respondent is fixed with probability 1 − Π(1 − share_t) over the fixed themes they
  complain about — one respondent is fixed at most once, so themes combine without double counting.
* A fixed respondent takes a score drawn from *comparable* respondents — same stratum (segment or
  source) — who complain about none of the fixed themes.
* Every draw also resamples respondents (bootstrap), so the interval carries both the sampling error
  of the survey and the randomness of who is fixed. When the respondents' stores are given and there
  are at least `MIN_CLUSTERS`, whole stores are resampled instead: answers of one store are not
  independent, and a store-level difference would otherwise make the interval too narrow.

Only NPS categories matter (for the other metrics: the distinct answers, 1–5, 1–7…), so everything
runs on counts: a bootstrap of respondents is a multinomial draw over (stratum × fix probability ×
category) cells, "who is fixed" is a binomial per cell, and replacement scores are a multinomial over
the stratum's unaffected categories. The result is the row-level procedure's distribution exactly, at
a cost independent of n.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypedDict, Unpack

import numpy as np

from cxchange.measure.scale import NPS_CATEGORY_POINTS, points

CATEGORIES = ("promoter", "passive", "detractor")
LEVERS = {
    "detractors-to-passives": (2, 1),
    "detractors-to-promoters": (2, 0),
    "passives-to-promoters": (1, 0),
}

METHOD = (
    "Respondents who mention a fixed theme negatively are fixed with probability "
    "1 − Π(1 − share) over the fixed themes they mention (each respondent at most once); a fixed "
    "respondent takes the score of a random comparable respondent (same {strata}) who mentions none "
    "of the fixed themes negatively. {draws} draws, each also resampling {resampled} (bootstrap); "
    "the interval is the {level:.0%} percentile interval of the projected {label}."
)


def category_of(scores: np.ndarray) -> np.ndarray:
    """0 promoter (9–10), 1 passive (7–8), 2 detractor (0–6)."""
    s = np.asarray(scores)
    return np.where(s >= 9, 0, np.where(s >= 7, 1, 2)).astype(np.int64)


@dataclass(frozen=True)
class SimulationResult:
    # baseline_nps, projected_nps: the simulated metric's score (named when NPS was the only one).
    baseline_nps: float
    projected_nps: float
    delta: float
    ci_low: float
    ci_high: float
    delta_ci_low: float
    delta_ci_high: float
    customers_affected: int
    n: int
    resampled: str = "respondents"  # or "stores": what the bootstrap drew


MIN_CLUSTERS = 10  # fewer stores than this: a store bootstrap is itself unreliable


def cluster_bootstrap(
    rng: np.random.Generator, cluster: np.ndarray, cell: np.ndarray, n_cells: int, draws: int
) -> np.ndarray:
    """Cell counts of `draws` resamples of whole clusters (as many as there are, with replacement):
    a multinomial draw of how often each cluster is taken, times the cluster-by-cell counts."""
    _, k = np.unique(cluster, return_inverse=True)
    k = k.ravel()
    n_k = int(k.max()) + 1
    by_cluster = np.zeros((n_k, n_cells), dtype=np.int64)
    np.add.at(by_cluster, (k, cell), 1)
    taken = rng.multinomial(n_k, np.full(n_k, 1.0 / n_k), size=draws)
    return taken @ by_cluster


class SimOptions(TypedDict, total=False):
    """How a simulation runs, whatever the metric (see `simulate_points`): NPS `levers`, `draws`, the
    interval's `level`, the `seed`, and each respondent's store (`clusters`)."""

    levers: Mapping[str, float] | None
    draws: int
    level: float
    seed: int
    clusters: np.ndarray | None


def simulate_nps(
    scores: np.ndarray, strata: np.ndarray, affected: np.ndarray, shares: Sequence[float],
    **options: Unpack[SimOptions],
) -> SimulationResult:  # fmt: skip
    """`scores` 0–10 per respondent, `strata` an int label each, `affected` bool (n × k fixed themes);
    `clusters`: each respondent's store (or customer), resampled whole when there are enough."""
    return simulate_metric("nps", scores, strata, affected, shares, **options)


def simulate_metric(
    metric: str, scores: np.ndarray, strata: np.ndarray, affected: np.ndarray, shares: Sequence[float],
    **options: Unpack[SimOptions],
) -> SimulationResult:  # fmt: skip
    """`simulate_nps` on any metric (`measure.scale`): NPS by category, the others by distinct answer
    (a fixed CSAT, CES or rating respondent takes a comparable respondent's answer). Levers move NPS
    categories: NPS only."""
    if metric == "nps":
        nps = np.asarray(scores)
        if nps.size == 0:
            raise ValueError("no NPS responses to simulate on")
        return simulate_points(
            category_of(nps), np.array(NPS_CATEGORY_POINTS), strata, affected, shares, **options
        )
    if options.get("levers"):
        raise ValueError("levers move NPS categories: NPS only")
    answers = np.asarray(scores, dtype=float)
    if answers.size == 0:
        raise ValueError(f"no {metric} answers to simulate on")
    values, codes = np.unique(answers, return_inverse=True)
    # Means of a 1–5 or 1–7 scale move by thousandths: rounded to hundredths, the gains of most themes
    # were 0.0 or tied (Alexa reviews), and Opportunities ranked and the business case priced those.
    digits = 2 if metric == "csat" else 4
    return simulate_points(
        codes.ravel(), points(metric, values), strata, affected, shares, digits=digits, **options
    )


def simulate_points(
    codes: np.ndarray,
    worth: np.ndarray,
    strata: np.ndarray,
    affected: np.ndarray,
    shares: Sequence[float],
    *,
    levers: Mapping[str, float] | None = None,
    draws: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    clusters: np.ndarray | None = None,
    digits: int = 2,
) -> SimulationResult:
    """The simulation on answers coded 0..K−1 (`codes`), answer j worth `worth[j]` points, the score
    their mean (NPS: the three categories worth 100, 0, −100), rounded to `digits` decimals. Levers
    (NPS only) move categories."""
    cat = np.asarray(codes, dtype=np.int64)
    n = cat.size
    n_c = int(np.asarray(worth).size)
    worth = np.asarray(worth, dtype=float)
    affected = np.asarray(affected, dtype=bool).reshape(n, -1)
    shares_arr = np.clip(np.asarray(shares, dtype=float), 0.0, 1.0)
    if affected.shape[1] != shares_arr.size:
        raise ValueError("one share per fixed theme")
    if levers and n_c != len(CATEGORIES):
        raise ValueError("levers move NPS categories: NPS only")
    # Probability each respondent is fixed; unaffected respondents have 0.
    p_fix = 1.0 - np.prod(np.where(affected, 1.0 - shares_arr, 1.0), axis=1)
    is_aff = affected.any(axis=1)
    _, stratum = np.unique(np.asarray(strata), return_inverse=True)
    stratum = stratum.ravel()
    p_values, p_index = np.unique(np.round(p_fix, 12), return_inverse=True)
    p_index = p_index.ravel()
    n_s, n_p = int(stratum.max()) + 1, p_values.size
    # Cells: stratum × fix-probability group × affected? × answer category.
    cell = ((stratum * n_p + p_index) * 2 + is_aff) * n_c + cat
    n_cells = n_s * n_p * 2 * n_c
    counts = np.bincount(cell, minlength=n_cells).astype(np.int64)
    rng = np.random.default_rng(seed)
    resampled = "respondents"
    if clusters is not None and np.unique(np.asarray(clusters)).size >= MIN_CLUSTERS:
        boot = cluster_bootstrap(rng, np.asarray(clusters), cell, n_cells, draws)
        resampled = "stores"
    else:
        boot = rng.multinomial(n, counts / n, size=draws)
    size = boot.sum(axis=1).astype(float)  # respondents in each draw (varies with whole stores)
    boot = boot.reshape(draws, n_s, n_p, 2, n_c)
    fixed = rng.binomial(boot[:, :, :, 1, :], p_values[None, None, :, None])  # affected only
    kept = boot.sum(axis=(2, 3)) - fixed.sum(axis=2)  # draws × strata × cat
    fixed_per_stratum = fixed.sum(axis=(2, 3))  # draws × strata
    donors = boot[:, :, :, 0, :].sum(axis=2)  # unaffected, draws × strata × cat
    overall = donors.sum(axis=1, keepdims=True)
    # A stratum with no unaffected respondent borrows the overall unaffected distribution.
    donors = np.where(donors.sum(axis=2, keepdims=True) > 0, donors, overall)
    totals = donors.sum(axis=2, keepdims=True)
    probs = np.divide(donors, totals, out=np.full(donors.shape, 1 / n_c), where=totals > 0)
    replaced = _multinomial_rows(rng, fixed_per_stratum, probs)
    final = kept + replaced  # draws × strata × cat
    by_cat = final.sum(axis=1).astype(float)  # draws × cat
    for lever, share in (levers or {}).items():
        src, dst = LEVERS[lever]
        moved = rng.binomial(by_cat[:, src].astype(np.int64), min(max(share, 0.0), 1.0))
        by_cat[:, src] -= moved
        by_cat[:, dst] += moved
    projected = by_cat @ worth / size
    baseline = np.bincount(cat, minlength=n_c) @ worth / n
    boot_base = boot.sum(axis=(1, 2, 3)) @ worth / size
    alpha = (1 - level) / 2
    lo, hi = np.quantile(projected, [alpha, 1 - alpha])
    dlo, dhi = np.quantile(projected - boot_base, [alpha, 1 - alpha])
    # The change is paired within each draw (same resample before and after), so a share of 0 gives
    # exactly 0 and the bootstrap's own noise does not leak into the point estimate.
    delta = float((projected - boot_base).mean())
    return SimulationResult(
        baseline_nps=round(float(baseline), digits),
        projected_nps=round(float(baseline) + delta, digits),
        delta=round(delta, digits),
        ci_low=round(float(lo), digits),
        ci_high=round(float(hi), digits),
        delta_ci_low=round(float(dlo), digits),
        delta_ci_high=round(float(dhi), digits),
        customers_affected=int(is_aff.sum()),
        n=n,
        resampled=resampled,
    )


def _multinomial_rows(rng: np.random.Generator, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Multinomial draws with per-row counts `n` (draws × strata) and probabilities p (… × K)."""
    n_c = p.shape[-1]
    out = np.zeros((*n.shape, n_c), dtype=np.int64)
    remaining = n.astype(np.int64)
    left = np.ones(n.shape)
    for c in range(n_c - 1):  # sequential binomials: exact multinomial, vectorised over rows
        pc = np.divide(p[..., c], left, out=np.zeros(n.shape), where=left > 0)
        take = rng.binomial(remaining, np.clip(pc, 0.0, 1.0))
        out[..., c] = take
        remaining = remaining - take
        left = left - p[..., c]
    out[..., n_c - 1] = remaining
    return out


def parse_levers(items: Sequence[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        name, _, value = item.partition("=")
        if name not in LEVERS:
            raise ValueError(f"unknown lever {name!r}; use {', '.join(LEVERS)}")
        try:
            share = float(value) if value else 0.1
        except ValueError:
            raise ValueError(f"--move {name} wants a share like 0.1, got {value!r}") from None
        if not 0 <= share <= 1:
            raise ValueError(f"--move {name} share must be between 0 and 1")
        out[name] = share
    return out
