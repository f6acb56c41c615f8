"""How much a theme moves NPS: NPS over all responses minus NPS over those not mentioning it.

Pure: counts in, numbers out. Each respondent falls in one of six cells (mentions the theme or not ×
promoter, passive, detractor). The interval is a bootstrap:

- over **stores** (or whatever units answers come from) when the counts per store are given and there
  are at least `MIN_CLUSTERS` of them: answers of one store share its staff, its week, its customers, so
  they are not independent, and resampling single answers would make the interval too narrow when
  stores differ. A draw takes as many stores as there are, with replacement, and sums their six
  counts (a multinomial draw of how often each store is taken, times the store-by-cell matrix);
- else over respondents: exactly a multinomial draw of the six cell counts, which costs nothing at any n.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxchange.core.output import rounded as _r  # the one rounding rule


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
    without = everyone - mentioning
    nps_all, nps_with, nps_without = nps(everyone), nps(mentioning), nps(without)
    impact = None if nps_all is None or nps_without is None else nps_all - nps_without
    lo = hi = ci_by = None
    if impact is not None and mentioning.n > 0 and n_boot > 0:
        cells = np.array(
            [mentioning.promoters, mentioning.passives, mentioning.detractors,
             without.promoters, without.passives, without.detractors],
            dtype=float,
        )  # fmt: skip
        n = int(cells.sum())
        rng = np.random.default_rng(seed)
        if by_store is not None and len(by_store) >= MIN_CLUSTERS:
            m = np.asarray(by_store, dtype=float)
            per = np.column_stack([m[:, :3], m[:, 3:] - m[:, :3]])  # mentioning | not mentioning
            if not np.allclose(per.sum(axis=0), cells):
                raise ValueError("per-store counts do not add up to the totals")
            k = per.shape[0]
            draws = rng.multinomial(k, np.full(k, 1.0 / k), size=n_boot).astype(float) @ per
            ci_by = "stores"
        else:
            draws = rng.multinomial(n, cells / n, size=n_boot).astype(float)
            ci_by = "respondents"
        tot = draws.sum(axis=1)
        all_score = 100.0 * ((draws[:, 0] + draws[:, 3]) - (draws[:, 2] + draws[:, 5])) / tot
        wo_n = draws[:, 3:].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            wo_score = 100.0 * (draws[:, 3] - draws[:, 5]) / wo_n
        diffs = (all_score - wo_score)[wo_n > 0]
        if diffs.size:
            alpha = (1.0 - level) / 2.0
            lo, hi = (float(x) for x in np.quantile(diffs, [alpha, 1.0 - alpha]))
    return {
        "nps_with": _r(nps_with),
        "nps_without": _r(nps_without),
        "impact": _r(impact),
        "impact_ci_low": _r(lo),
        "impact_ci_high": _r(hi),
        "ci_by": ci_by,
    }
