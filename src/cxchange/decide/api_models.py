"""Response models of the decide routes (`drivers`, `simulate`, `opportunities`)."""

from __future__ import annotations

from cxchange.core.api_models import Out, out_of
from cxchange.decide.simulate import SimulationResult


class Driver(Out):
    driver: str
    importance: float
    share_pct: float
    ci_low: float | None
    ci_high: float | None
    direction: str  # "+" or "-": the sign of the standardised coefficient
    performance: float | None
    correlation: float | None = None  # with the target alone; its sign may differ from direction


class DriverTable(Out):
    target: str
    method: str
    n: int
    r2: float
    drivers: list[Driver]
    notes: list[str]  # what was left out, and why


class Fix(Out):
    theme: str
    share: float


# The simulator's numbers as `simulate.SimulationResult` holds them (what the bootstrap drew is told
# in `method`), then what the service adds: the metric simulated, its baseline and projected score
# (baseline_nps and projected_nps on NPS only, as they always were).
SimulationOut = out_of(
    SimulationResult,
    "SimulationOut",
    leave_out=("resampled", "baseline_nps", "projected_nps"),
    baseline_nps=(float | None, None),
    projected_nps=(float | None, None),
    metric=(str, ...),
    baseline=(float, ...),
    projected=(float, ...),
    fixes=(list[Fix], ...),
    method=(str, ...),
    assumptions=(list[str], ...),
)


class Opportunity(Out):
    theme: str
    # The gain in NPS points (metric nps), else `gain` in the metric's points, positive = better.
    nps_gain: float | None = None
    gain: float | None = None
    ci_low: float
    ci_high: float
    customers: int
    trend: float | None
    revenue_at_risk: float | None  # None: no customer value known for the theme's complaining detractors
    effort: float | None
    root_causes: int
    priority: float
