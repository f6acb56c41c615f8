"""Planning aid before launch: the minimum detectable effect of an initiative's pilot/control design.

A placebo start is put `after` days before the real start (or before the end of the data when the
initiative has not started), so both windows lie in past data the initiative cannot have touched. The
same randomization inference `outcomes` uses gives the spread of the estimate over the possible
assignments of whole clusters (a standard error under no effect); the minimum detectable effect at 80 %
power is (z(1 − α/2) + z(0.8)) × that spread. A design whose smallest possible p-value exceeds α has no
detectable effect at all, and the answer says what would fix it. The pre-trend check also needs the
effect to exceed what a barely-undetectable differential trend could produce; that floor is reported
and the larger of the two is the answer.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
from scipy import stats as sps
from sqlalchemy import Engine

from cxchange.core.errors import InputError
from cxchange.org.tree import covered_unit_ids, pilot_control_overlaps
from cxchange.sustain import panel
from cxchange.sustain.outcome_design import check_clusters, cluster_map, load_design
from cxchange.sustain.outcomes import (
    _codes,
    _data_dates,
    _rows,
    _window_days,
    metric_or_default,
    parse_metric,
)

POWER = 0.8


def plan(
    engine: Engine,
    initiative: int | str,
    *,
    metric: str | None = None,
    before: str | None = None,
    after: str | None = None,
    cluster: str | None = None,
    level: float = 0.95,
) -> dict[str, Any]:
    """Minimum detectable effect for the initiative's pilot and control units over its windows. No
    metric: the store's default (`outcomes.metric_or_default`)."""
    kind, _theme = parse_metric(metric_or_default(engine, metric))
    if kind not in ("nps", "csat", "ces", "rating"):
        raise InputError("outcomes plan works on nps, csat, ces or rating")
    if not 0 < level < 1:
        raise InputError(f"--level wants a number between 0 and 1, got {level}")
    design = load_design(engine, initiative, before, after, cluster)
    ini_id, ini_name, start, units, tree = design.id, design.name, design.start, design.units, design.tree
    before_text, after_text = design.settings["before"], design.settings["after"]
    cluster_level = design.settings["cluster"]
    pilot_codes, control_codes = units.get("pilot", []), units.get("control", [])
    if not pilot_codes or not control_codes:
        raise InputError(
            f"initiative {ini_name!r} needs pilot and control units to plan; set them with "
            f"`initiative update {ini_id} --pilot-units CODE,… --control-units CODE,…`"
        )
    span = _data_dates(engine)
    if span is None:
        raise InputError("there is no feedback yet; a plan needs past data")
    anchor = min(start, span[1] + timedelta(days=1)) if start else span[1] + timedelta(days=1)
    days_before, days_after = _window_days(engine, before_text, after_text, anchor)
    placebo = anchor - timedelta(days=days_after)
    lo, hi = placebo - timedelta(days=days_before), anchor
    if placebo <= span[0]:
        # The way out, not only the wall: a shorter after window moves the placebo start into the data
        # (the Alexa reviews hold 46 days before the start; the default after window is 90).
        room = (anchor - span[0]).days - 1
        way = (
            f": plan with a shorter after window, at most --after {room}d (--after {room // 2}d leaves about "
            "as many days of feedback before the placebo start as after it)"
            if room >= 2
            else ""
        )
        raise InputError(
            f"not enough past data: a placebo start {days_after} days before {anchor} ({placebo}) lies "
            f"on or before the first feedback ({span[0]}){way}"
        )
    pilot_ids, control_ids = covered_unit_ids(tree, pilot_codes), covered_unit_ids(tree, control_codes)
    if pilot_ids & control_ids:
        overlaps = pilot_control_overlaps(tree, pilot_codes, control_codes)
        raise InputError(f"pilot and control units overlap: {', '.join(overlaps[:5])}")
    data = _rows(engine, kind, None, pilot_ids | control_ids, lo, placebo, hi)
    if not data.size:
        raise InputError(
            f"no {kind} data for the pilot units ({_codes(pilot_codes)}) or the control units "
            f"({_codes(control_codes)}) from {lo} to {hi}"
        )
    unit, month, post, y, w = (data[:, i] for i in range(5))
    post_b = post.astype(bool)
    treated = np.isin(unit, sorted(pilot_ids))
    for mask, what in (
        (treated & ~post_b, f"pilot units ({_codes(pilot_codes)}) before"),
        (treated & post_b, f"pilot units ({_codes(pilot_codes)}) after"),
        (~treated & ~post_b, f"control units ({_codes(control_codes)}) before"),
        (~treated & post_b, f"control units ({_codes(control_codes)}) after"),
    ):
        if not w[mask].sum():
            raise InputError(f"no past {kind} data for the {what} the placebo start {placebo}")
    with_data = {int(u) for u in np.unique(unit)}
    cluster_of, names, level_name, plural = cluster_map(
        tree, pilot_codes, control_codes, with_data, cluster_level
    )
    check_clusters(cluster_of, names, pilot_ids, level_name)
    cells = panel.make_cells(unit, month, post_b, y, w, cluster_of, pilot_ids & with_data)
    try:
        a = panel.assess(cells, level=level, cluster_word=plural)
    except ValueError as exc:  # a design the data cannot identify: say what is missing
        raise InputError(f"{ini_name!r}: {exc}") from None
    r = a.effect
    alpha = 1 - level
    out: dict[str, Any] = {
        "initiative": {"id": ini_id, "name": ini_name, "start": start.isoformat() if start else None},
        "metric": kind,
        "placebo_start": placebo.isoformat(),
        "window": {
            "before": [lo.isoformat(), (placebo - timedelta(days=1)).isoformat()],
            "after": [placebo.isoformat(), (hi - timedelta(days=1)).isoformat()],
        },
        "cluster_level": level_name,
        "clusters": a.clusters,
        "assignments": r.assignments,
        "exact": r.exact,
        "min_p": round(r.min_p, 6),
        "level": level,
        "power": POWER,
        "placebo_estimate": round(r.estimate, 3),
    }
    if r.min_p > alpha:
        fix = panel.fix_advice(a.clusters["pilot"], a.clusters["control"], alpha, plural)
        return {
            **out,
            "mde": None,
            "null_sd": round(r.null_sd, 3),
            "mde_pretrend": None,
            "reason": f"the smallest possible p-value is {r.min_p:.2f} (> {alpha:.2f}): no effect can be "
            "told from chance with this design",
            "fix": fix,
            "summary": f"cannot tell with this design: {fix}",
        }
    mde_test = float((sps.norm.ppf(1 - alpha / 2) + sps.norm.ppf(POWER)) * r.null_sd)
    pt = a.pretrend
    floor = None
    if pt.ci_low is not None and pt.ci_high is not None:
        floor = float((pt.ci_high - pt.ci_low) / 2 * a.lever_months)
    mde = max(mde_test, floor or 0.0)
    return {
        **out,
        "mde": round(mde, 2),
        "mde_test": round(mde_test, 2),
        "null_sd": round(r.null_sd, 3),
        "mde_pretrend": None if floor is None else round(floor, 2),
        "reason": None,
        "fix": None,
        "summary": (
            f"with {a.clusters['pilot']} pilot and {a.clusters['control']} control {plural} and these "
            f"windows, an effect of {mde:.1f} {kind} points would be found {round(POWER * 100)} % of the time"
        ),
    }
