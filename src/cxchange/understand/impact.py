"""How much a theme moves NPS: NPS over all responses minus NPS over those not mentioning it.

Pure: counts in, numbers out. The interval is a bootstrap over respondents; since each respondent
falls in one of six cells (mentions the theme or not × promoter, passive, detractor), resampling
respondents is exactly a multinomial draw of the six cell counts, which costs nothing at any n.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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


def theme_impact(
    mentioning: NpsCells, everyone: NpsCells, *, n_boot: int = 2000, level: float = 0.95, seed: int = 0
) -> dict[str, float | None]:
    """nps_with, nps_without, impact (= NPS(all) − NPS(without)) and its bootstrap interval."""
    without = everyone - mentioning
    nps_all, nps_with, nps_without = nps(everyone), nps(mentioning), nps(without)
    impact = None if nps_all is None or nps_without is None else nps_all - nps_without
    lo = hi = None
    if impact is not None and mentioning.n > 0 and n_boot > 0:
        cells = np.array(
            [mentioning.promoters, mentioning.passives, mentioning.detractors,
             without.promoters, without.passives, without.detractors],
            dtype=float,
        )  # fmt: skip
        n = int(cells.sum())
        draws = np.random.default_rng(seed).multinomial(n, cells / n, size=n_boot).astype(float)
        all_score = 100.0 * ((draws[:, 0] + draws[:, 3]) - (draws[:, 2] + draws[:, 5])) / n
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
    }


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 2)
