"""Outcomes: did an initiative move what customers say?

Windows are relative to the initiative's start: before = [start − BEFORE, start), after =
[start, start + AFTER). Units mean the unit and everything beneath it; each answer's cluster is the
unit it was given in (`feedback.org_unit_id`, a store in the demo).

- With pilot and control units: two-way fixed effects on unit-by-month cells (the difference-in-
  differences with unit and month effects), randomization inference over assignments of whole clusters
  at the level pilot and control were chosen (see `sustain.panel`), a pre-trend check with power, a
  sensitivity bound, an event study (CRV1, as pyfixest) and a monthly series for both groups. Designs that
  cannot support a conclusion (2 vs 2 regions, one pilot store) say "cannot tell with this design".
- Windows and cluster level: stored on the initiative (`outcome_design`), so every surface agrees.
- Otherwise: after − before in the initiative's units (scope, else pilot), same inference; `did`,
  `ci_low`, `ci_high`, `p_value` are null and the change sits under `change`.

Per-respondent values: NPS +100 / 0 / −100 (promoter / passive / detractor), so the mean is the NPS;
CSAT 100 when satisfied (4–5) else 0, so the mean is `cxchange scores`' % satisfied; CES and rating
their answer; theme-share 100 when an analysed comment (one with a sentiment row) mentions the theme,
else 0; theme-sentiment the mention's clause sentiment. Higher is better except theme-share of a theme
whose mentions were negative on average before the start (fewer mentions of a problem is better).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any, Unpack

import numpy as np
from sqlalchemy import Engine, case, func, or_, select

from cxchange.change.common import session_for
from cxchange.change.metrics import split_metric
from cxchange.change.models import Initiative, InitiativeUnit
from cxchange.core.errors import InputError
from cxchange.core.output import rounded as _r  # the one rounding rule
from cxchange.core.period import Period
from cxchange.core.spans import parse_window  # the one span grammar
from cxchange.listen.models import Feedback
from cxchange.measure.rating_scope import check_rating_scope
from cxchange.measure.service import ScoreQuery, in_default_metric
from cxchange.org.tree import covered_unit_ids, pilot_control_overlaps
from cxchange.sustain import did as stats
from cxchange.sustain import panel
from cxchange.sustain.outcome_design import OutcomeOptions, check_clusters, cluster_map, load_design
from cxchange.sustain.outcome_staggered import METHOD as METHOD_STAGGERED
from cxchange.sustain.outcome_staggered import assess_staggered
from cxchange.understand.models import FeedbackSentiment, FeedbackTheme

SCORE_METRICS = ("nps", "csat", "ces", "rating")
RATING_HOW = "measure the initiative on another metric (--metric), or on units rated on one scale"
METHOD = (
    "two-way fixed effects (unit and month) on unit-by-month cells weighted by respondents; p-value and "
    "interval by randomization inference over the assignments of whole clusters at the level pilot and "
    "control were chosen (exact when at most "
    f"{panel.MAX_ENUMERATED} assignments, else {panel.DRAWS} drawn with a fixed seed); se and event study: "
    "CRV1 at that level (as pyfixest), t with G-1 df; pre-trend: pilot-minus-control monthly slope before "
    "the start, same inference, fails "
    f"when p < {panel.PRETREND_ALPHA} in the estimate's direction or cannot tell apart a trend that alone "
    "would produce the estimate"
)
METHOD_BEFORE_AFTER = (
    "OLS on respondent values, CR2 cluster-robust SE clustered by unit (Bell-McCaffrey), t with G-1 df"
)


def _data_dates(engine: Engine) -> tuple[date, date] | None:
    """First and last feedback dates (both ends of an indexed column: cheap)."""
    with engine.connect() as conn:
        first, last = conn.execute(
            select(func.min(Feedback.received_at), func.max(Feedback.received_at))
        ).one()
    if first is None or last is None:
        return None
    return first.date(), last.date()


def parse_metric(metric: str) -> tuple[str, str | None]:
    return split_metric(metric, SCORE_METRICS)


def metric_or_default(engine: Engine, metric: str | None) -> str:
    """`metric` as asked or, when none is named (None or ""), the store's default: NPS when it has NPS
    answers, else the score it has most answers of (`measure.service.in_default_metric`, the rule of
    `scores`, the overview, themes and Decide). Fixed on NPS, a store of 1-10 airline ratings got "no
    nps data" from `outcomes` and its plan on every surface, and the web offered no way to ask for
    the ratings."""
    if metric:
        return metric
    return in_default_metric(engine, ScoreQuery(metric="")).metric


def _day(d: date) -> datetime:
    return datetime.combine(d, time.min)


def _month_expr(engine: Engine) -> Any:
    col = Feedback.received_at
    if engine.dialect.name == "postgresql":
        return func.to_char(col, "YYYY-MM")
    return func.strftime("%Y-%m", col)


def _rows(
    engine: Engine,
    kind: str,
    theme_id: int | None,
    unit_ids: Iterable[int],
    lo: date,
    start: date,
    hi: date,
) -> np.ndarray:
    """(unit, month index relative to start, post, value, count) rows, as one float array."""
    ids = sorted(set(unit_ids))
    month = _month_expr(engine).label("month")
    post = case((Feedback.received_at >= _day(start), 1), else_=0).label("post")
    keys = [Feedback.org_unit_id, month, post]

    def window(stmt: Any) -> Any:
        return stmt.where(
            Feedback.org_unit_id.in_(ids),
            Feedback.received_at >= _day(lo),
            Feedback.received_at < _day(hi),
        )

    out: list[tuple[Any, ...]] = []
    with engine.connect() as conn:
        if kind in SCORE_METRICS:
            col = getattr(Feedback, kind)
            stmt = window(select(*keys, col, func.count()).where(col.is_not(None))).group_by(*keys, col)
            out = [tuple(r) for r in conn.execute(stmt)]
        elif kind == "theme-sentiment":
            s = FeedbackTheme.sentiment
            stmt = window(
                select(*keys, s, func.count())
                .select_from(Feedback)
                .join(FeedbackTheme, FeedbackTheme.feedback_id == Feedback.id)
                .where(FeedbackTheme.theme_id == theme_id, s.is_not(None))
            ).group_by(*keys, s)
            out = [tuple(r) for r in conn.execute(stmt)]
        else:
            analysed = window(
                select(*keys, func.count())
                .select_from(Feedback)
                .join(FeedbackSentiment, FeedbackSentiment.feedback_id == Feedback.id)
            ).group_by(*keys)
            mentions = window(
                select(*keys, func.count())
                .select_from(Feedback)
                .join(FeedbackSentiment, FeedbackSentiment.feedback_id == Feedback.id)
                .join(FeedbackTheme, FeedbackTheme.feedback_id == Feedback.id)
                .where(FeedbackTheme.theme_id == theme_id)
            ).group_by(*keys)
            k = {tuple(r[:3]): int(r[3]) for r in conn.execute(mentions)}
            for u, mo, p, n in conn.execute(analysed):
                hit = k.get((u, mo, p), 0)
                if hit:
                    out.append((u, mo, p, 100.0, hit))
                if n - hit:
                    out.append((u, mo, p, 0.0, n - hit))
    if not out:
        return np.empty((0, 5))
    base = start.year * 12 + start.month - 1
    arr = np.array(
        [(u, int(mo[:4]) * 12 + int(mo[5:7]) - 1 - base, p, float(v), c) for u, mo, p, v, c in out],
        dtype=float,
    )
    if kind == "nps":
        v = arr[:, 3]
        arr[:, 3] = np.where(v >= 9, 100.0, np.where(v >= 7, 0.0, -100.0))
    elif kind == "csat":
        arr[:, 3] = np.where(arr[:, 3] >= 4, 100.0, 0.0)
    return arr


def _month_label(start: date, index: int) -> str:
    m = start.year * 12 + start.month - 1 + index
    return f"{m // 12:04d}-{m % 12 + 1:02d}"


def _higher_is_better(
    engine: Engine, kind: str, theme_id: int | None, ids: set[int], lo: date, start: date
) -> bool:
    if kind != "theme-share":
        return True
    with engine.connect() as conn:
        mean = conn.execute(
            select(func.avg(FeedbackTheme.sentiment))
            .select_from(Feedback)
            .join(FeedbackTheme, FeedbackTheme.feedback_id == Feedback.id)
            .where(
                FeedbackTheme.theme_id == theme_id,
                Feedback.org_unit_id.in_(sorted(ids)),
                Feedback.received_at >= _day(lo),
                Feedback.received_at < _day(start),
            )
        ).scalar()
    return mean is not None and float(mean) > 0


def _overlapping(engine: Engine, ini_id: int, unit_ids: set[int], tree: Any, lo: date, hi: date) -> list[str]:
    """Other initiatives touching the same units (in, beneath or above) while the windows run."""
    with session_for(engine) as s:
        rows = s.execute(
            select(Initiative.id, Initiative.name, Initiative.start, Initiative.end, InitiativeUnit.unit_id)
            .join(InitiativeUnit, InitiativeUnit.initiative_id == Initiative.id)
            .where(
                Initiative.id != ini_id,
                Initiative.start < hi,
                or_(Initiative.end.is_(None), Initiative.end >= lo),
            )
        ).all()
    names: dict[int, str] = {}
    for oid, name, _start, _end, uid in rows:
        unit = tree.units.get(uid)
        if unit is None:
            continue
        if tree.subtree_ids(unit.code) & unit_ids:  # theirs in, beneath or above ours
            names[oid] = name
    return [names[k] for k in sorted(names)]


def _summary_row(cm: stats.CellMeans) -> dict[str, Any]:
    return {
        "before": _r(cm.before),
        "after": _r(cm.after),
        "n_before": cm.n_before,
        "n_after": cm.n_after,
        "units": cm.clusters,
    }


def _window_days(engine: Engine, before: str, after: str, start: date) -> tuple[int, int]:
    days_before, days_after = parse_window(before, "--before"), parse_window(after, "--after")
    if days_before is None or days_after is None:
        span = _data_dates(engine)
        first, last = span if span else (start, start)
        days_before = days_before or max(1, (start - first).days)
        days_after = days_after or max(1, (last - start).days + 1)
    return days_before, days_after


def outcomes(engine: Engine, initiative: int | str, **options: Unpack[OutcomeOptions]) -> dict[str, Any]:
    """Pilot vs control (two-way fixed effects, randomization inference at the assignment level) when
    pilot and control units are set, else before/after. Windows and cluster level: as given, else as
    stored on the initiative (`cxchange outcomes set`), else the defaults. No metric: the store's
    default (`metric_or_default`). The keywords: `outcome_design.OutcomeOptions`."""
    kind, theme = parse_metric(metric_or_default(engine, options.get("metric")))
    design = load_design(engine, initiative, options)
    ini_id, ini_name, start, units, starts, tree, level = (
        design.id, design.name, design.start, design.units, design.starts, design.tree, design.level
    )  # fmt: skip
    settings = design.settings
    before_text, after_text, cluster_level = settings["before"], settings["after"], settings["cluster"]
    theme_id, metric_name = None, kind
    if theme is not None:
        from cxchange.understand.themes.taxonomy import find_theme

        with session_for(engine) as s:
            t = find_theme(s, theme)
            theme_id, metric_name = t.id, f"{kind}:{t.name}"
    if start is None:
        raise InputError(
            f"initiative {ini_name!r} has no start date; set one with `initiative update --start`"
        )
    pilot_codes, control_codes = units.get("pilot", []), units.get("control", [])
    if control_codes and not pilot_codes:
        raise InputError(
            f"initiative {ini_name!r} has control units but no pilot units; set them with "
            f"`initiative update {ini_id} --pilot-units CODE,…`"
        )
    mode = "did" if pilot_codes and control_codes else "before-after"
    # Without a control group the change is measured where the initiative acted: its pilot units when it
    # names them (the rest of its scope did not get the change), else every unit in its scope.
    scope_codes = pilot_codes or units.get("scope") or []
    if mode == "before-after" and not scope_codes:
        raise InputError(
            f"initiative {ini_name!r} has no units; set them with `initiative update {ini_id} --units CODE,…`"
        )
    span = _data_dates(engine)
    if span is None:
        raise InputError("there is no feedback yet; import some with `cxchange import`")
    if start <= span[0]:
        raise InputError(
            f"initiative {ini_name!r} starts {start}, on or before the first feedback ({span[0]}): there "
            "is no before period to compare with"
        )
    days_before, days_after = _window_days(engine, before_text, after_text, start)
    last = max([start, *starts.values()]) if mode == "did" else start
    lo, hi = start - timedelta(days=days_before), last + timedelta(days=days_after)
    if mode == "did":
        pilot_ids, control_ids = covered_unit_ids(tree, pilot_codes), covered_unit_ids(tree, control_codes)
        if pilot_ids & control_ids:
            overlaps = pilot_control_overlaps(tree, pilot_codes, control_codes)
            raise InputError(f"pilot and control units overlap: {', '.join(overlaps[:5])}")
        all_ids = pilot_ids | control_ids
    else:
        pilot_ids, control_ids = covered_unit_ids(tree, scope_codes), set()
        all_ids = pilot_ids
    if kind == "rating":  # a mean over the units' 1-5 and 1-10 ratings at once would mean nothing
        codes = [*pilot_codes, *control_codes] if mode == "did" else list(scope_codes)
        check_rating_scope(engine, [f"unit={c}" for c in codes], Period(lo, hi), how=RATING_HOW)
    data = _rows(engine, kind, theme_id, all_ids, lo, start, hi)
    unit, month, post, y, w = (data[:, i] for i in range(5))
    post_b = post.astype(bool)
    treated = np.isin(unit, sorted(pilot_ids))
    window_text = (
        f"{lo} to {start - timedelta(days=1)} (before) and {start} to {hi - timedelta(days=1)} (after)"
    )

    def require(mask: np.ndarray, what: str) -> None:
        if not w[mask].sum():
            raise InputError(f"no {metric_name} data for {what} in {window_text}")

    higher = _higher_is_better(engine, kind, theme_id, pilot_ids, lo, start)
    caveats: list[str] = []
    result: dict[str, Any] = {
        "initiative": {"id": ini_id, "name": ini_name, "start": start.isoformat()},
        "metric": metric_name,
        "mode": mode,
        "window": {
            "before": [lo.isoformat(), (start - timedelta(days=1)).isoformat()],
            "after": [start.isoformat(), (hi - timedelta(days=1)).isoformat()],
        },
        "settings": {
            "before": before_text,
            "after": after_text,
            "cluster": cluster_level,
            "stored": settings["stored"],
            "overridden": settings["overridden"],
        },
        "higher_is_better": higher,
        "level": level,
    }
    if mode == "did":
        for mask, what in (
            (treated & ~post_b, f"the pilot units ({_codes(pilot_codes)}) before the start"),
            (treated & post_b, f"the pilot units ({_codes(pilot_codes)}) after the start"),
            (~treated & ~post_b, f"the control units ({_codes(control_codes)}) before the start"),
            (~treated & post_b, f"the control units ({_codes(control_codes)}) after the start"),
        ):
            require(mask, what)
        if starts:  # a staggered rollout: each pilot unit from its own start
            a, extra = assess_staggered(
                tree=tree, pilot_codes=pilot_codes, control_codes=control_codes, pilot_ids=pilot_ids,
                starts=starts, first=start, data=data, cluster_level=cluster_level, level=level,
                higher=higher, name=ini_name,
            )  # fmt: skip
            su, _sm, sy, sw = extra["rows"]
            st = np.isin(su, sorted(pilot_ids))
            pc = stats.cell_means(sy[st], sw[st], su[st], extra["post"][st])
            cc = stats.cell_means(sy[~st], sw[~st], su[~st], extra["post"][~st])
            level_name, se, df, events = extra["cluster_level"], None, None, []
            inference_method = "randomization over arrangements of the starts across clusters"
        else:
            pc = stats.cell_means(y[treated], w[treated], unit[treated], post_b[treated])
            cc = stats.cell_means(y[~treated], w[~treated], unit[~treated], post_b[~treated])
            a, cells, level_name = _assess_cells(
                tree,
                pilot_codes,
                control_codes,
                pilot_ids,
                cluster_level,
                data,
                level,
                higher,
                ini_name,
                caveats,
            )
            fit = panel.crv1(cells, (cells.treated & cells.post).astype(float), level=level)
            se, df, events = _r(float(fit.se[0]), 3), fit.df, panel.event_study(cells, level=level)
            inference_method = "randomization over assignments of whole clusters"
        eff, pt = a.effect, a.pretrend
        series = [
            {"month": _month_label(start, int(mo)), "group": g, "value": _r(v), "n": n}
            for mo, g, v, n in stats.monthly_series(y, w, month, treated)
        ]
        n_units = {"pilot": pc.clusters, "control": cc.clusters}
        n_cells = [pc.n_before, pc.n_after, cc.n_before, cc.n_after]
        result.update(
            pilot={**_summary_row(pc), "codes": pilot_codes},
            control={**_summary_row(cc), "codes": control_codes},
            did=_r(eff.estimate, 3),
            ci_low=_r(eff.ci_low, 3),
            ci_high=_r(eff.ci_high, 3),
            p_value=_r(eff.p_value, 6),
            se=se,
            df=df,
            inference={
                "method": inference_method,
                "cluster_level": level_name,
                "clusters": a.clusters,
                "assignments": eff.assignments,
                "exact": eff.exact,
                "min_p": _r(eff.min_p, 6),
                "null_sd": _r(eff.null_sd, 3),
                **({"waves": extra["waves"]} if starts else {}),
            },
            pretrend_ok=pt.status == "ok",
            pretrend={
                "status": pt.status,
                "slope_diff_per_month": _r(pt.slope_diff, 3),
                "ci_low": _r(pt.ci_low, 3),
                "ci_high": _r(pt.ci_high, 3),
                "p_value": _r(pt.p_value, 6),
                "months": pt.months,
                "reason": pt.reason,
            },
            sensitivity={
                "lever_months": _r(a.lever_months, 3),
                "breakdown_slope_per_month": _r(a.breakdown_slope, 3),
            },
            event_study=[
                {
                    "month": _month_label(start, e.month),
                    "relative_month": e.month,
                    "estimate": _r(e.estimate, 3),
                    "ci_low": _r(e.ci_low, 3),
                    "ci_high": _r(e.ci_high, 3),
                }
                for e in events
            ],
        )
        if not starts and (one_sided := _one_sided(tree, unit, post_b, w)):
            caveats.append(one_sided)
        if pt.status != "ok" and pt.reason:
            caveats.append(f"pre-trend check {pt.status}: {pt.reason}")
        if a.breakdown_slope is not None:
            caveats.append(
                f"sensitivity: a pilot-minus-control trend of {a.breakdown_slope:.2f} points a month, "
                f"carried {a.lever_months:.1f} months from before to after, would bring the interval to zero"
            )
        verdict, reason, fix = a.verdict, a.reason, a.fix
    else:
        which = f"the {'pilot ' if pilot_codes else ''}units ({_codes(scope_codes)})"
        require(~post_b, f"{which} before the start")
        require(post_b, f"{which} after the start")
        sc = stats.cell_means(y, w, unit, post_b)
        ba = stats.before_after(y, w, unit, post_b, level=level)
        series = [
            {"month": _month_label(start, int(mo)), "group": g, "value": _r(v), "n": n}
            for mo, g, v, n in stats.monthly_series(y, w, month)
        ]
        n_units = {"units": sc.clusters}
        n_cells = [sc.n_before, sc.n_after]
        result.update(
            pilot=None,
            control=None,
            scope={**_summary_row(sc), "codes": scope_codes},
            did=None,
            ci_low=None,
            ci_high=None,
            p_value=None,
            pretrend_ok=None,
            change={
                "estimate": _r(ba.estimate, 3),
                "ci_low": _r(ba.ci_low, 3),
                "ci_high": _r(ba.ci_high, 3),
                "p_value": _r(ba.p_value, 6),
                "se": _r(ba.se, 3),
                "df": ba.df,
            },
        )
        missing = "no control units" if pilot_codes else "no pilot or control units"
        setting = "--control-units CODE,…" if pilot_codes else "--pilot-units CODE,… --control-units CODE,…"
        caveats.append(
            f"no control group ({missing}): the change of {which} before vs after also carries seasonality "
            f"and everything else that changed at the same time; set `initiative update {ini_id} {setting}` "
            "to compare with units the initiative did not touch"
        )
        if not np.isfinite(ba.se):
            caveats.append("the interval cannot be computed (a single unit)")
        verdict, reason, fix = stats.verdict(ba.ci_low, ba.ci_high, higher), None, None
    if hi - timedelta(days=1) > span[1]:
        # The window is what was asked; the data may stop inside it (Alexa reviews: a 90-day after
        # window to 28 September, reviews to 31 July), which the window's dates alone do not say.
        caveats.append(
            f"the after window runs to {hi - timedelta(days=1)}, but the newest feedback is from {span[1]}: "
            f"after the start there are {max(0, (span[1] - last).days + 1)} days of feedback, "
            f"not {days_after}"
        )
    if min(n_cells) < stats.SMALL_N:
        caveats.append(
            f"small samples: {min(n_cells)} respondents in the smallest group-period (under {stats.SMALL_N})"
        )
    others = _overlapping(engine, ini_id, all_ids, tree, lo, hi)
    if others:
        caveats.append("overlapping initiatives in the same units during the window: " + ", ".join(others))
    est = result["did"] if mode == "did" else result["change"]["estimate"]
    interval = (
        (result["ci_low"], result["ci_high"])
        if mode == "did"
        else (result["change"]["ci_low"], result["change"]["ci_high"])
    )
    p_value = result["p_value"] if mode == "did" else result["change"]["p_value"]
    result.update(
        verdict=verdict,
        verdict_reason=reason,
        verdict_fix=fix,
        summary=_sentence(mode, metric_name, verdict, est, interval, p_value, level, reason),
        caveats=caveats,
        units=n_units,
        overlapping=others,
        method=(METHOD_STAGGERED if starts else METHOD) if mode == "did" else METHOD_BEFORE_AFTER,
        series=series,
    )
    return result


def _codes(codes: list[str]) -> str:
    return ", ".join(codes[:5]) + (f" and {len(codes) - 5} more" if len(codes) > 5 else "")


def _one_sided(tree: Any, unit: np.ndarray, post: np.ndarray, w: np.ndarray) -> str | None:
    """Units that answered only before or only after the start: the unit fixed effects take them out
    of the estimate, while the before/after means count them (Alexa variants: 7 of 10 reviewed only
    after the start; the means' difference of −0.2 and the estimate's −0.41 went unexplained)."""
    answered = w > 0
    before, after = set(unit[answered & ~post].tolist()), set(unit[answered & post].tolist())
    one_sided = before ^ after
    if not one_sided:
        return None
    codes = sorted(tree.units[int(u)].code for u in one_sided)
    shown = ", ".join(codes[:5]) + (", …" if len(codes) > 5 else "")
    return (
        f"{len(one_sided)} of {len(before | after)} units answered only before or only after the start "
        f"({shown}): the estimate rests on the {len(before & after)} that answered on both sides, while the "
        "before/after means count every unit"
    )


def _assess_cells(
    tree: Any,
    pilot_codes: list[str],
    control_codes: list[str],
    pilot_ids: set[int],
    cluster_level: str | None,
    data: np.ndarray,
    level: float,
    higher: bool,
    name: str,
    caveats: list[str],
) -> tuple[panel.Assessment, panel.Cells, str]:
    """The single-start assessment on unit-by-month cells (coarsened to before/after as wholes when
    pilot and control never answered in the same month, with a caveat)."""
    unit, month, post, y, w = (data[:, i] for i in range(5))
    with_data = {int(u) for u in np.unique(unit)}
    cluster_of, cluster_names, level_name, level_plural = cluster_map(
        tree, pilot_codes, control_codes, with_data, cluster_level
    )
    check_clusters(cluster_of, cluster_names, pilot_ids, level_name)
    cells = panel.make_cells(unit, month, post.astype(bool), y, w, cluster_of, pilot_ids & with_data)
    try:
        a = panel.assess(cells, level=level, higher_is_better=higher, cluster_word=level_plural)
    except ValueError:
        cells = cells.coarsened()
        try:
            a = panel.assess(cells, level=level, higher_is_better=higher, cluster_word=level_plural)
        except ValueError as exc:  # a design the data cannot identify: say what is missing
            raise InputError(f"{name!r}: {exc}") from None
        caveats.append(
            "pilot and control never answered in the same month, so the periods are before and after "
            "as wholes, not months: common monthly shocks are not removed"
        )
    return a, cells, level_name


def _sentence(
    mode: str,
    metric: str,
    verdict: str,
    est: float | None,
    interval: tuple[float | None, float | None],
    p_value: float | None,
    level: float,
    reason: str | None,
) -> str:
    what = "pilot vs control (difference-in-differences)" if mode == "did" else "after vs before"
    head = f"{verdict}: {metric} {what} {est:+.2f} points" if est is not None else f"{verdict}: {metric}"
    lo, hi = interval
    if lo is None or hi is None:
        text = f"{head}, no interval" + (f" (p = {p_value:.4f})" if p_value is not None else "")
    else:
        text = f"{head} ({round(level * 100)} % CI {lo:+.2f} to {hi:+.2f}, p = {p_value:.4f})"
    return f"{text}; {reason}" if reason else text
