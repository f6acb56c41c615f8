"""The executive report's data: one dict, gathered from the stage services (no SQL of its own).

Scores with intervals and a monthly trend (`measure.service.grouped_counts`, one SQL GROUP BY per
metric; every figure then comes from those counts through `measure.stats`), movement by org unit,
theme changes against the previous period and themes by impact (`understand.service.theme_stats` and
`theme_counts`), key drivers (`decide.data.theme_driver_frame` -> `decide.drivers.driver_table`, as
on the Decide page), emerging issues (`understand.service.emerging`), counts (`understand.explore`),
initiatives and their measured outcomes (`report.initiatives`) and recognitions (`sustain.recognition`).

`--unit CODE` becomes the services' `unit=CODE` filter: the unit and everything beneath it. The reader's
`UserScope` decides which unit that may be and which initiative comparisons are shown.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Engine

from cxchange.auth.scope import UserScope
from cxchange.core.errors import CxError, InputError
from cxchange.core.migrate import ensure_schema
from cxchange.core.output import rounded as _r  # the one rounding rule
from cxchange.core.period import ALL_TIME, Period
from cxchange.decide.data import load_respondents, theme_driver_frame
from cxchange.decide.drivers import driver_table, quadrant
from cxchange.measure.scale import default_metric
from cxchange.measure.service import ScoreQuery, compare_count_frames, grouped_counts
from cxchange.measure.stats import score_from_counts
from cxchange.org.tree import OrgTree, Unit, load_org_tree
from cxchange.report.initiatives import initiatives_section
from cxchange.report.period import (
    ReportPeriod,
    add_months,
    as_date,
    months_between,
    parse_period,
    period_containing,
)
from cxchange.report.scales import UNITS_HOW, left_out, mixed_note, score_parts
from cxchange.sustain.recognition import list_recognitions
from cxchange.sustain.scorecard import latest_complete
from cxchange.understand import explore
from cxchange.understand.service import analysed_count, emerging, theme_counts, theme_stats
from cxchange.understand.themes.taxonomy import theme_rows

METRICS: dict[str, dict[str, str]] = {
    "nps": {"label": "NPS", "unit": "", "scale": "−100 to 100: % promoters (9–10) − % detractors (0–6)"},
    "csat": {"label": "CSAT", "unit": " %", "scale": "% satisfied (4 or 5 of 5)"},
    "ces": {"label": "CES", "unit": "", "scale": "mean effort score, 1–7 (7 = very easy)"},
    "rating": {"label": "Rating", "unit": "", "scale": "mean rating on the source's scale"},
}
# Theme impact and drivers are on the scope's own score (`measure.scale.default_metric`), in these words.
IMPACT_WORDS = {"nps": "NPS points", "csat": "CSAT points (% satisfied)", "ces": "on the mean CES",
                "rating": "on the mean rating"}  # fmt: skip
LEVEL = 0.95
# A theme's row when its impact is not computed (ratings on more than one scale).
NO_IMPACT = {"positive_share": None, "score_with": None, "score_without": None, "impact": None,
             "ci_low": None, "ci_high": None}  # fmt: skip
MIN_N = 30
TOP_THEMES = 8
TOP_DRIVERS = 8
DRIVER_MIN_MENTIONS = 20
DRIVER_BOOT = 100
DRIVER_MAX_ROWS = 100_000
EMERGING_WINDOW, EMERGING_BASELINE = "7d", "8w"
MAX_QUOTE = 280

# --------------------------------------------------------------------------------------------- helpers


@dataclass
class _Scope:
    engine: Engine
    where: tuple[str, ...]
    tree: OrgTree
    unit: Unit | None

    def count(self, period: Period = ALL_TIME, *, analysed: bool = False) -> int:
        if analysed:
            return analysed_count(self.engine, self.where, period)
        return explore.total(self.engine, explore.FeedbackFilter(where=self.where, period=period))

    def last_day(self) -> date | None:
        return as_date(explore.latest(self.engine, explore.FeedbackFilter(where=self.where)))


def _quote(text: str | None) -> str:
    t = " ".join((text or "").split())
    return t if len(t) <= MAX_QUOTE else t[: MAX_QUOTE - 1].rstrip() + "…"


def _stat(metric: str, part: pl.DataFrame, scale: int | None = None) -> dict[str, Any]:
    """One group's score and interval, as `scores` gives it (`scale`: the counts' GroupedCounts.scale)."""
    if part.height:
        agg = part.group_by("__value").agg(pl.col("__count").sum()).sort("__value")
        values, counts = agg["__value"].to_numpy(), agg["__count"].to_numpy()
    else:
        values, counts = np.array([], dtype=float), np.array([], dtype=np.int64)
    st = score_from_counts(metric, values, counts, level=LEVEL, scale=scale, rng=np.random.default_rng(0))
    return {
        "n": int(st.n),
        "score": _r(st.score),
        "ci_low": _r(st.ci_low),
        "ci_high": _r(st.ci_high),
        "small": st.n < MIN_N,
    }


def _change(
    metric: str, cur: pl.DataFrame, prev: pl.DataFrame, scale: int | None = None
) -> dict[str, Any] | None:
    if not cur.height or not prev.height:
        return None
    a = cur.group_by("__value").agg(pl.col("__count").sum())
    b = prev.group_by("__value").agg(pl.col("__count").sum())
    d = compare_count_frames(metric, a, b, level=LEVEL, scale=scale)
    lo, hi = _r(d.ci_low), _r(d.ci_high)
    significant = lo is not None and hi is not None and (lo > 0 or hi < 0)
    return {
        "diff": _r(d.diff),
        "ci_low": lo,
        "ci_high": hi,
        "p_value": _r(d.p_value, 6),
        "significant": significant,
        "direction": ("up" if d.diff > 0 else "down") if significant else "flat",
    }


# --------------------------------------------------------------------------------------------- sections


def _scores(s: _Scope, period: ReportPeriod, prev: ReportPeriod) -> list[dict[str, Any]]:
    """Per metric with data in the period: score, interval, change vs the previous period, monthly trend."""
    window_start = min(prev.start, add_months(period.start, -(12 - len(period.months()))))
    months = months_between(window_start, period.end)
    in_period, in_prev = set(period.months()), set(prev.months())
    out = []
    for metric, meta in METRICS.items():
        q = ScoreQuery(metric=metric, by=("month",), where=s.where, period=Period(window_start, period.end))
        for key, labels, frame, scale in score_parts(metric, meta, grouped_counts(s.engine, q, split=True)):
            entry = _score_entry(metric, labels, frame, scale, months, in_period, in_prev)
            if entry is not None:
                out.append({"key": key, **entry})
    return out


def _score_entry(
    metric: str,
    meta: dict[str, str],
    frame: pl.DataFrame,
    scale: int | None,
    months: list[str],
    in_period: set[str],
    in_prev: set[str],
) -> dict[str, Any] | None:
    """One score card: the period's score, the previous period's, the change and the monthly trend."""
    cur = frame.filter(pl.col("month").is_in(sorted(in_period)))
    if not cur.height:
        return None
    before = frame.filter(pl.col("month").is_in(sorted(in_prev)))
    trend = []
    for month in months:
        st = _stat(metric, frame.filter(pl.col("month") == month), scale)
        trend.append({"month": month, **st, "in_period": month in in_period})
    return {
        "metric": metric,
        **meta,
        **_stat(metric, cur, scale),
        "previous": _stat(metric, before, scale) if before.height else None,
        "change": _change(metric, cur, before, scale),
        "trend": trend,
    }


def _child_units(s: _Scope) -> list[Unit]:
    if s.unit is not None:
        return s.tree.children(s.unit.id)
    roots = s.tree.children(None)
    return s.tree.children(roots[0].id) if len(roots) == 1 else roots


def _by_unit(s: _Scope, period: ReportPeriod, prev: ReportPeriod, metric: str) -> dict[str, Any] | None:
    """The headline metric one level below the scope: which units moved."""
    children = _child_units(s)
    if not children:
        return None
    level = children[0].level or str(children[0].depth)
    key = f"org:{level}"
    q = ScoreQuery(metric=metric, by=("month", key), where=s.where, period=Period(prev.start, period.end))
    counted = grouped_counts(s.engine, q)
    frame, scale = counted.frame, counted.scale
    cur_m, prev_m = period.months(), prev.months()
    rows = []
    for u in children:
        part = frame.filter(pl.col(key) == u.name)
        cur, before = part.filter(pl.col("month").is_in(cur_m)), part.filter(pl.col("month").is_in(prev_m))
        if not cur.height:
            continue
        rows.append(
            {
                "code": u.code,
                "name": u.name,
                **_stat(metric, cur, scale),
                "previous": _stat(metric, before, scale)["score"] if before.height else None,
                "change": _change(metric, cur, before, scale),
            }
        )
    rows.sort(key=lambda r: (r["change"] is None, -((r["change"] or {}).get("diff") or 0.0), r["code"]))
    return {"metric": metric, "label": METRICS[metric]["label"], "level": level, "rows": rows}


def _share_change(k1: int, n1: int, k0: int, n0: int) -> tuple[float | None, float | None, float | None]:
    """Difference of two proportions in percentage points with a Wald interval."""
    if not n1 or not n0:
        return None, None, None
    p1, p0 = k1 / n1, k0 / n0
    diff = 100.0 * (p1 - p0)
    se = 100.0 * math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    z = 1.959963984540054
    return _r(diff), _r(diff - z * se), _r(diff + z * se)


def _themes(
    s: _Scope, period: ReportPeriod, prev: ReportPeriod, metric: str, mixed: str | None = None
) -> dict[str, Any]:
    """Theme changes, and impact on `metric` unless `mixed` (ratings on several scales) says why not."""
    if mixed:
        counts = theme_counts(s.engine, s.where, period.window)
        cur = [
            {**t, **counts.get(t["id"], {"count": 0, "sentiment": None}), **NO_IMPACT}
            for t in theme_rows(s.engine)
        ]
    else:
        cur = theme_stats(s.engine, where=s.where, period=period.window, n_boot=1000, metric=metric)
    before = theme_counts(s.engine, s.where, prev.window)  # shares and sentiment suffice
    n_cur = s.count(period.window, analysed=True)
    n_prev = s.count(prev.window, analysed=True)
    rows = []
    for t in cur:
        p = before.get(t["id"], {})
        k0 = int(p.get("count") or 0)
        if not t["count"] and not k0:
            continue
        diff, lo, hi = _share_change(int(t["count"]), n_cur, k0, n_prev)
        sent0 = p.get("sentiment")
        rows.append(
            {
                "id": t["id"],
                "name": t["name"],
                "parent": t["parent"],
                "count": int(t["count"]),
                "share": _r(100.0 * t["count"] / n_cur, 1) if n_cur else None,
                "previous_count": k0,
                "previous_share": _r(100.0 * k0 / n_prev, 1) if n_prev else None,
                "share_change": diff,
                "share_change_ci_low": lo,
                "share_change_ci_high": hi,
                "significant": lo is not None and hi is not None and (lo > 0 or hi < 0),
                "sentiment": t["sentiment"],
                "previous_sentiment": sent0,
                "sentiment_change": _r(t["sentiment"] - sent0, 3)
                if t["sentiment"] is not None and sent0 is not None
                else None,
                "positive_share": t["positive_share"],
                "score_with": t["score_with"],
                "score_without": t["score_without"],
                "impact": t["impact"],
                "impact_ci_low": t["ci_low"],
                "impact_ci_high": t["ci_high"],
            }
        )
    changes = sorted(
        (r for r in rows if r["share_change"] is not None),
        key=lambda r: (not r["significant"], -abs(r["share_change"]), r["name"]),
    )[:TOP_THEMES]
    by_impact = sorted(
        (r for r in rows if r["impact"] is not None and r["count"] >= MIN_N),
        key=lambda r: (r["impact"], r["name"]),
    )
    drags = [r for r in by_impact if r["impact"] < 0][:5]
    lifts = [r for r in reversed(by_impact) if r["impact"] > 0][:3]
    return {
        "note": mixed,
        "analysed": n_cur,
        "previous_analysed": n_prev,
        "all": rows,
        "changes": changes,
        "drags": drags,
        "lifts": lifts,
    }


def _drivers(s: _Scope, period: ReportPeriod, metric: str) -> dict[str, Any]:
    """Which themes' sentiment explains `metric` in the period (Shapley shares of R², bootstrap intervals):
    the frame `decide.data.theme_driver_frame` builds for the Decide page, the CLI and the API
    (`from=theme-sentiment`); above `DRIVER_MAX_ROWS` comments, a systematic sample (every k-th row),
    which leaves shares of R² practically unchanged and bounds the bootstrap's time."""
    try:
        r = load_respondents(s.engine, where=s.where, period=period.window)
        frame, chosen, performance, _ = theme_driver_frame(
            s.engine, target=metric, kind="theme-sentiment", respondents=r
        )
    except CxError as exc:
        return {"drivers": [], "n": 0, "r2": None, "note": f"not computable: {exc}"}
    # the same rows as the frame's (analysed, with an answer), for counting each theme's mentions
    rows = r.frame.filter(pl.col("analysed") & pl.col(metric).is_not_null())
    label = METRICS[metric]["label"]
    note = f"theme sentiment (0 when not mentioned) as predictors of {label} on analysed comments"
    step = max(1, math.ceil(frame.height / DRIVER_MAX_ROWS))
    if step > 1:
        frame, rows = frame.gather_every(step), rows.gather_every(step)
        note += f" (a systematic sample: every {step}th comment)"
    # a theme mentioned by a handful of comments gets an interval as wide as the scale: left out
    mentions = {name: int(rows[f"mention:{tid}"].sum()) for tid, name in r.themes.items()}
    chosen = [c for c in chosen if mentions.get(c, 0) >= DRIVER_MIN_MENTIONS]
    if frame.height < 50:
        return {
            "drivers": [],
            "n": frame.height,
            "r2": None,
            "note": f"too few analysed comments with {label}",
        }
    if len(chosen) < 2:
        return {"drivers": [], "n": frame.height, "r2": None, "note": "too few themes mentioned"}
    try:
        table = driver_table(frame, metric, chosen, n_boot=DRIVER_BOOT, performance=performance, level=LEVEL)
    except CxError as exc:
        return {"drivers": [], "n": frame.height, "r2": None, "note": f"not computable: {exc}"}
    quads = {q["driver"]: q["quadrant"] for q in quadrant(table)}
    drivers = [
        {
            "driver": d["driver"],
            "share_pct": _r(d["share_pct"], 1),
            "importance": _r(d["importance"], 4),
            "ci_low": _r(d["ci_low"], 4),
            "ci_high": _r(d["ci_high"], 4),
            "direction": d["direction"],
            "performance": _r(100.0 * d["performance"], 1) if d["performance"] is not None else None,
            "quadrant": quads.get(d["driver"]),
        }
        for d in table["drivers"][:TOP_DRIVERS]
    ]
    return {"drivers": drivers, "n": int(table["n"]), "r2": _r(table["r2"], 3), "note": note}


def _emerging(s: _Scope, period: ReportPeriod) -> dict[str, Any]:
    found = emerging(
        s.engine, window=EMERGING_WINDOW, baseline=EMERGING_BASELINE, until=period.end, where=s.where
    )
    items = [
        {
            "theme": e["theme"],
            "kind": e["kind"],
            "recent_count": int(e["recent_count"]),
            "baseline_mean": _r(e["baseline_mean"], 1),
            "z": _r(e["z"], 1),
            "terms": [str(t) for t in (e.get("terms") or [])][:6],
            "examples": [_quote(x) for x in (e.get("examples") or [])][:2],
        }
        for e in found[:5]
    ]
    window_start = period.end - timedelta(days=7)
    return {
        "items": items,
        "window": f"{window_start} to {period.last_day}",
        "baseline": f"the {EMERGING_BASELINE.removesuffix('w')} weeks before",
    }


def _recognitions(s: _Scope, period: ReportPeriod) -> dict[str, Any]:
    recs = list_recognitions(
        s.engine, unit=s.unit.code if s.unit else None, since=period.start, until=period.end
    )
    people: dict[tuple[str, str | None], dict[str, Any]] = {}
    for r in recs:
        key = (r["person"], r["unit"])
        p = people.setdefault(key, {"person": r["person"], "unit": r["unit"], "count": 0, "quote": None})
        p["count"] += 1
        if p["quote"] is None and r["text"]:
            p["quote"] = _quote(r["text"])
    names = {u.code: u.name for u in s.tree.units.values()}
    top = sorted(people.values(), key=lambda p: (-p["count"], p["person"] or ""))[:10]
    for p in top:
        p["unit_name"] = names.get(p["unit"]) if p["unit"] else None
    return {"total": len(recs), "people": len(people), "top": top}


def _highlights(data: dict[str, Any]) -> list[str]:
    out = []
    prev = data["period"]["previous"]
    for sc in data["scores"]:
        line = (
            f"{sc['label']} {sc['score']:.1f}{sc['unit']} "
            f"(95 % CI {sc['ci_low']:.1f} to {sc['ci_high']:.1f}, n = {sc['n']:,})"
            if sc["score"] is not None and sc["ci_low"] is not None
            else f"{sc['label']}: n = {sc['n']:,}"
        )
        ch = sc["change"]
        if ch is not None and ch["diff"] is not None:
            if ch["significant"]:
                line += f": {ch['direction']} {abs(ch['diff']):.1f} vs {prev}, a real change"
            else:
                line += f": {ch['diff']:+.1f} vs {prev}, within the noise"
        out.append(line)
    moved = [t for t in data["themes"]["changes"] if t["significant"]][:2]
    for t in moved:
        out.append(
            f"{t['name']}: mentioned in {t['share']:.1f} % of analysed comments, "
            f"{'up' if t['share_change'] > 0 else 'down'} {abs(t['share_change']):.1f} points vs {prev}"
        )
    metric = data["metric"]
    label = METRICS[metric]["label"]
    if data["themes"]["drags"]:
        t = data["themes"]["drags"][0]
        size = f"{abs(t['impact']):.1f}" if metric in ("nps", "csat") else f"{abs(t['impact']):.2f}"
        out.append(f"Biggest drag on {label}: {t['name']} (costs {size} {IMPACT_WORDS[metric]})")
    if data["drivers"]["drivers"]:
        d = data["drivers"]["drivers"][0]
        out.append(f"Key driver of {label}: {d['driver']} ({d['share_pct']:.0f} % of the explained variance)")
    em = data["emerging"]["items"]
    if em:
        out.append(
            f"Emerging: {em[0]['theme']} "
            f"({em[0]['recent_count']} comments in the last week, z = {em[0]['z']})"
        )
    for ini in data["initiatives"]:
        first = next((o for o in ini["outcomes"] if "verdict" in o), None)
        if first is not None:
            out.append(f"Initiative {ini['name']}: {first['summary']}")
    rec = data["recognitions"]
    if rec["total"]:
        out.append(f"{rec['total']} recognitions of {rec['people']} people by name in customer comments")
    return out


# --------------------------------------------------------------------------------------------- entry


def resolve_scope(engine: Engine, unit: str | None) -> tuple[OrgTree, Unit | None]:
    tree = load_org_tree(engine)
    if unit is None or not unit.strip():
        return tree, None
    return tree, tree.by_code(unit.strip())  # NotFoundError: "no org unit with code 'X'"


def default_period(engine: Engine, where: Sequence[str] = ()) -> ReportPeriod:
    """The latest complete quarter that has data, else the latest quarter with data."""
    s = _Scope(engine, tuple(where), load_org_tree(engine), None)
    last = s.last_day()
    if last is None:
        # banking77, Amazon book reviews: imported without a date; the way to date them, not a wall
        raise InputError(
            "no dated feedback in scope: nothing to report; date feedback imported without a date from a "
            "column kept at import with `cxchange redate COLUMN`"
        )
    start, end = latest_complete("quarter", last)
    complete = ReportPeriod("quarter", start, end)
    if s.count(complete.window):
        return complete
    return period_containing("quarter", last)


def build_report(
    engine: Engine,
    period: str | ReportPeriod | None = None,
    unit: str | None = None,
    scope: UserScope | None = None,
) -> dict[str, Any]:
    """Everything the executive report shows, as plain JSON-friendly values, as `scope`'s user may see it
    (default: everything): only their units, and no initiative comparison reaching beyond them. `period`:
    as text (`parse_period`), or already parsed (the CLI reads it with the command line)."""
    ensure_schema(engine)
    user = scope or UserScope.everything()
    tree, u = resolve_scope(engine, user.one_unit(engine, unit))
    where = (f"unit={u.code}",) if u is not None else ()
    p = parse_period(period) if isinstance(period, str) else period or default_period(engine, where)
    s = _Scope(engine, where, tree, u)
    n = s.count(p.window)
    scope_name = f"{u.name} ({u.code})" if u is not None else "the whole organisation"
    if not n:
        raise InputError(f"no feedback in {p.label} ({p.start} to {p.last_day}) for {scope_name}")
    prev = p.previous()
    scores = _scores(s, p, prev)
    # One score leads the report (units, theme impact, drivers): the scope's default metric, from the
    # period's answer counts the scores section already has.
    answers: dict[str, int] = {}
    for sc in scores:  # a card per rating scale: their answers add up to the metric's
        answers[sc["metric"]] = answers.get(sc["metric"], 0) + sc["n"]
    metric = default_metric(answers)
    headline = metric if scores else None
    label = METRICS[metric]["label"]
    # Ratings on more than one scale: no one impact, driver or unit score over them (report/scales.py).
    mixed = mixed_note(engine, where, p.window) if headline == "rating" else None
    # Units' changes read the previous period as well, whose ratings may be on another scale.
    unit_span = Period(prev.start, p.end)
    units_mixed = mixed_note(engine, where, unit_span, UNITS_HOW) if headline == "rating" else None
    themes = _themes(s, p, prev, metric, mixed)
    data: dict[str, Any] = {
        "title": "Customer experience: executive report",
        "generated": datetime.now().replace(microsecond=0).isoformat(sep=" "),
        "period": {
            "kind": p.kind,
            "label": p.label,
            "start": p.start.isoformat(),
            "end": p.last_day.isoformat(),
            "previous": prev.label,
            "previous_start": prev.start.isoformat(),
            "previous_end": prev.last_day.isoformat(),
        },
        "unit": {"code": u.code, "name": u.name, "level": u.level} if u is not None else None,
        "scope_name": scope_name,
        "feedback": n,
        "level": LEVEL,
        "min_n": MIN_N,
        "scores": scores,
        "metric": metric,  # theme impact's and the drivers' score
        "metric_label": label,
        "by_unit": _by_unit(s, p, prev, headline) if headline and not units_mixed else None,
        "themes": themes,
        "drivers": left_out(mixed) if mixed else _drivers(s, p, metric),
        "mixed_scales": mixed,
        "by_unit_note": units_mixed,
        "emerging": _emerging(s, p),
        "initiatives": initiatives_section(engine, user, tree, u, p),
        "recognitions": _recognitions(s, p),
        "notes": [
            "Intervals are 95 % confidence intervals; a change is called real only when its interval "
            "excludes zero. Scores on fewer than 30 answers are marked small.",
            f"Theme impact = {label} of everyone − {label} of those who do not mention the theme (bootstrap "
            f"interval); negative means the theme costs {label} (for every score here, higher is better).",
            f"Key drivers: Shapley shares of R² of theme sentiment (0 when not mentioned) on {label}, "
            f"{DRIVER_BOOT} bootstrap resamples; performance = % of the theme's mentions that are positive.",
            f"Emerging issues: the last {EMERGING_WINDOW.removesuffix('d')} days of the period against "
            f"the {EMERGING_BASELINE.removesuffix('w')} weeks before (robust z ≥ 3).",
            "Initiative outcomes are measured over the initiative's own units (pilot vs control with "
            "difference-in-differences where both are set), from its start to the end of the period "
            "(at most 365 days), against an equally long window before the start (at least 90 days).",
        ],
    }
    # The default is the latest complete quarter: feedback after it (Alexa: 2,068 of 2,291 reviews, all
    # in July) was left out without a word. Said, with the period that holds it.
    later = s.count(Period(p.window.until, None)) if period is None else 0
    last = s.last_day() if later else None
    data["later"] = None
    if later and last is not None:
        holds = period_containing(p.kind, last).label
        data["later"] = {"feedback": later, "period": holds}
        data["notes"].append(
            f"{later:,} pieces of feedback after {p.last_day} fall in {holds}, which is not complete yet: "
            f"report on it with --period {holds}."
        )
    data["highlights"] = _highlights(data)
    return data
