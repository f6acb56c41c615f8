"""Planning aid before launch: the minimum detectable effect of an initiative's pilot/control design.

A placebo start is put `after` days before the real start (or before the end of the data when the
initiative has not started), so both windows lie in past data the initiative cannot have touched. The
same randomization inference `outcomes` uses gives the spread of the estimate over the possible
assignments of whole clusters (a standard error under no effect); the minimum detectable effect at 80 %
power is (z(1 − α/2) + z(0.8)) × that spread. A design whose smallest possible p-value exceeds α has no
detectable effect at all, and the answer says what would fix it. The pre-trend check also needs the
effect to exceed what a barely-undetectable differential trend could produce; that floor is reported
and the larger of the two is the answer.

An MDE beyond what an initiative can plausibly move the metric by (`PLAUSIBLE_SHARE` of its range: 30
NPS points, 15 CSAT points, 0.9 on CES 1-7, 0.6 on a 1-5 rating) makes a hopeless study: a null result
would say nothing. The answer then says what would bring the MDE down to that size, computed from the
design (`informative_advice`): more clusters, or more answers per unit (a month, or longer windows) as
far as answer-to-answer noise, not differences between units, makes the spread.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any, Unpack

import numpy as np
from scipy import stats as sps
from sqlalchemy import Engine

from cxchange.core.errors import InputError
from cxchange.core.period import Period
from cxchange.measure.mixed import DEFAULT_SCALE
from cxchange.measure.rating_scope import check_rating_scope
from cxchange.measure.stats import score_range
from cxchange.org.tree import covered_unit_ids, pilot_control_overlaps
from cxchange.sustain import panel
from cxchange.sustain.outcome_design import OutcomeOptions, check_clusters, cluster_map, load_design
from cxchange.sustain.outcomes import (
    RATING_HOW,
    _codes,
    _data_dates,
    _rows,
    _window_days,
    metric_or_default,
    parse_metric,
)

POWER = 0.8
# The largest effect an initiative can plausibly have, as a share of the metric's range: reported CX
# programme gains are a few NPS points, 10-15 an exceptional one; 15 % of NPS's 200 is 30 points. A
# study that could only detect more than this can only miss, and its null result says nothing.
PLAUSIBLE_SHARE = 0.15


def noise_share(y: np.ndarray, w: np.ndarray, groups: list[np.ndarray], null_sd: float) -> float:
    """How much of the spread under no effect answer-to-answer noise explains (0-1): the variance of
    the difference in differences of the four group means (pilot/control, before/after) from the
    answers' own variance, over the squared spread. The rest is units differing from one another,
    which only more units average out."""
    if null_sd <= 0:
        return 1.0
    sampling = 0.0
    for mask in groups:
        n = float(w[mask].sum())
        mean = float((w[mask] * y[mask]).sum()) / n
        sampling += float((w[mask] * (y[mask] - mean) ** 2).sum()) / n / n
    return min(1.0, sampling / null_sd**2)


def informative_advice(
    mde: float,
    target: float,
    share: float,
    clusters: tuple[int, int],
    unit_word: str,
    per_month: float,
    days: tuple[int, int],
) -> str:
    """What brings the MDE from `mde` down to `target`: the spread falls as 1/sqrt(clusters), and its
    answer-noise part (`share` of the variance) as 1/sqrt(answers per unit)."""
    need = (mde / target) ** 2  # the variance must shrink this many times
    pilot, control = (math.ceil(g * need) for g in clusters)
    more_units = (
        f"about {pilot} pilot and {control} control {unit_word} instead of {clusters[0]} and {clusters[1]}"
    )
    room = 1 / need - (1 - share)  # what the answer-noise part may still be, as a share of today's variance
    if room <= 0:
        return (
            f"{more_units}; more answers per unit cannot get there (answer-to-answer noise is "
            f"{share:.0%} of the spread, the rest is units differing)"
        )
    m = share / room
    return (
        f"{more_units}, or {m:.1f}× the answers per unit: about {math.ceil(per_month * m):,} a month "
        f"instead of {round(per_month):,}, or windows {m:.1f}× as long (--before {math.ceil(days[0] * m)}d "
        f"--after {math.ceil(days[1] * m)}d)"
    )


def plan(engine: Engine, initiative: int | str, **options: Unpack[OutcomeOptions]) -> dict[str, Any]:
    """Minimum detectable effect for the initiative's pilot and control units over its windows. No
    metric: the store's default (`outcomes.metric_or_default`). The keywords: `OutcomeOptions`."""
    kind, _theme = parse_metric(metric_or_default(engine, options.get("metric")))
    if kind not in ("nps", "csat", "ces", "rating"):
        raise InputError("outcomes plan works on nps, csat, ces or rating")
    design = load_design(engine, initiative, options)
    ini_id, ini_name, start, units, tree = design.id, design.name, design.start, design.units, design.tree
    level = design.level
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
    rating_scale = None
    if kind == "rating":  # as `outcomes` does: never a mean over 1-5 and 1-10 answers at once
        codes = [f"unit={c}" for c in (*pilot_codes, *control_codes)]
        rating_scale = check_rating_scope(engine, codes, Period(lo, hi), how=RATING_HOW)
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
    summary = (
        f"with {a.clusters['pilot']} pilot and {a.clusters['control']} control {plural} and these "
        f"windows, an effect of {mde:.1f} {kind} points would be found {round(POWER * 100)} % of the time"
    )
    low, high = score_range(kind, rating_scale or DEFAULT_SCALE)
    plausible = round(PLAUSIBLE_SHARE * (high - low), 2)
    reason: str | None = None
    remedy: str | None = None
    if mde > plausible:
        groups = [treated & ~post_b, treated & post_b, ~treated & ~post_b, ~treated & post_b]
        share = noise_share(y, w, groups, r.null_sd)
        per_month = float(w.sum()) / ((hi - lo).days / 30.4)
        clusters = (a.clusters["pilot"], a.clusters["control"])
        advice = informative_advice(
            mde, plausible, share, clusters, plural, per_month, (days_before, days_after)
        )
        remedy = f"to detect {plausible:g} {kind} points: {advice}"
        reason = (
            f"hopeless: {mde:.1f} {kind} points is more than an initiative can plausibly move {kind} by "
            f"({plausible:g}, {PLAUSIBLE_SHARE:.0%} of its {low:g} to {high:g} range): a null result "
            "would say nothing"
        )
        summary += f", more than the {plausible:g} an initiative can plausibly move it by"
    return {
        **out,
        "mde": round(mde, 2),
        "mde_test": round(mde_test, 2),
        "null_sd": round(r.null_sd, 3),
        "mde_pretrend": None if floor is None else round(floor, 2),
        "plausible_effect": plausible,
        "reason": reason,
        "fix": remedy,
        "summary": summary,
    }
