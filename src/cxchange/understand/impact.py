"""How much a theme moves a score: the score over all responses minus the score over those not
mentioning it (NPS, and any score that is a mean of points per answer: CSAT, CES, ratings).

Pure: counts in, numbers out. Each respondent falls in one of 2·k cells (mentions the theme or not ×
k answer values; for NPS the values are promoter, passive, detractor). The interval is a bootstrap:

- over **stores** (or whatever units answers come from) when the counts per store are given and there
  are at least `MIN_CLUSTERS` of them: answers of one store share its staff, its week, its customers, so
  they are not independent, and resampling single answers would make the interval too narrow when
  stores differ. A draw takes as many stores as there are, with replacement, and sums their
  2·k counts (a multinomial draw of how often each store is taken, times the store-by-cell matrix);
- else over respondents: exactly a multinomial draw of the 2·k cell counts, which costs nothing at any n.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxchange.core.output import rounded as _r  # the one rounding rule
from cxchange.measure.scale import NPS_CATEGORY_POINTS


@dataclass(frozen=True, slots=True)
class NpsCells:
    promoters: int
    passives: int
    detractors: int

    @property
    def n(self) -> int:
        return self.promoters + self.passives + self.detractors

    def __sub__(self, other: NpsCells) -> NpsCells:
        return NpsCells(
            self.promoters - other.promoters,
            self.passives - other.passives,
            self.detractors - other.detractors,
        )


def nps(cells: NpsCells) -> float | None:
    return None if cells.n == 0 else 100.0 * (cells.promoters - cells.detractors) / cells.n


MIN_CLUSTERS = 10  # fewer stores than this: a store bootstrap is itself unreliable


def theme_impact(
    mentioning: NpsCells,
    everyone: NpsCells,
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
    by_store: np.ndarray | None = None,
) -> dict[str, float | str | None]:
    """nps_with, nps_without, impact (= NPS(all) − NPS(without)) and its bootstrap interval.
    `by_store`: one row per store of (mentioning promoters, passives, detractors, everyone promoters,
    passives, detractors), summing to `mentioning` and `everyone`; `ci_by` says what was resampled."""
    cells = [
        [mentioning.promoters, mentioning.passives, mentioning.detractors],
        [everyone.promoters, everyone.passives, everyone.detractors],
    ]
    imp = score_impact(
        np.array(NPS_CATEGORY_POINTS), np.array(cells[0]), np.array(cells[1]),
        n_boot=n_boot, level=level, seed=seed, by_store=by_store,
    )  # fmt: skip
    return {
        "nps_with": imp["score_with"],
        "nps_without": imp["score_without"],
        "impact": imp["impact"],
        "impact_ci_low": imp["impact_ci_low"],
        "impact_ci_high": imp["impact_ci_high"],
        "ci_by": imp["ci_by"],
    }


def _mean(points: np.ndarray, counts: np.ndarray) -> float | None:
    n = counts.sum()
    return None if n == 0 else float(counts @ points) / float(n)


def score_impact(
    points: np.ndarray,
    mentioning: np.ndarray,
    everyone: np.ndarray,
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
    by_store: np.ndarray | None = None,
) -> dict[str, float | str | None]:
    """Any score that is a mean of points per answer (see `measure.scale`): answers counted per distinct
    value, `points[j]` what value j is worth, `mentioning[j]` / `everyone[j]` how many gave it.
    score_with, score_without, impact = score(all) − score(without) and its bootstrap interval (every
    score here is higher-is-better, so a negative impact means worse with the theme). `by_store`: one
    row per store of (mentioning counts, everyone counts), as for NPS."""
    pts = np.asarray(points, dtype=float)
    k = pts.size
    m_counts, e_counts = np.asarray(mentioning, dtype=float), np.asarray(everyone, dtype=float)
    without = e_counts - m_counts
    s_all, s_with, s_without = _mean(pts, e_counts), _mean(pts, m_counts), _mean(pts, without)
    impact = None if s_all is None or s_without is None else s_all - s_without
    lo = hi = ci_by = None
    if impact is not None and m_counts.sum() > 0 and n_boot > 0:
        cells = np.concatenate([m_counts, without])
        n = int(cells.sum())
        rng = np.random.default_rng(seed)
        if by_store is not None and len(by_store) >= MIN_CLUSTERS:
            m = np.asarray(by_store, dtype=float)
            per = np.column_stack([m[:, :k], m[:, k:] - m[:, :k]])  # mentioning | not mentioning
            if not np.allclose(per.sum(axis=0), cells):
                raise ValueError("per-store counts do not add up to the totals")
            n_stores = per.shape[0]
            draws = rng.multinomial(n_stores, np.full(n_stores, 1.0 / n_stores), size=n_boot)
            draws = draws.astype(float) @ per
            ci_by = "stores"
        else:
            draws = rng.multinomial(n, cells / n, size=n_boot).astype(float)
            ci_by = "respondents"
        tot = draws.sum(axis=1)
        all_score = (draws[:, :k] + draws[:, k:]) @ pts / tot
        wo_n = draws[:, k:].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            wo_score = draws[:, k:] @ pts / wo_n
        diffs = (all_score - wo_score)[wo_n > 0]
        if diffs.size:
            alpha = (1.0 - level) / 2.0
            lo, hi = (float(x) for x in np.quantile(diffs, [alpha, 1.0 - alpha]))
    return {
        "score_with": _r(s_with),
        "score_without": _r(s_without),
        "impact": _r(impact),
        "impact_ci_low": _r(lo),
        "impact_ci_high": _r(hi),
        "ci_by": ci_by,
    }
