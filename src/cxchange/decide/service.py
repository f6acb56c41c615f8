"""The simulator and opportunity ranking over the store (pure maths in `simulate`, data in `data`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypedDict, Unpack

import numpy as np
import polars as pl
from sqlalchemy import Engine

from cxchange.core.errors import CxError, InputError
from cxchange.core.events import ROOT_CAUSES, ask
from cxchange.core.output import counted
from cxchange.core.period import ALL_TIME, Period
from cxchange.decide.data import Respondents, detractor, load_respondents
from cxchange.decide.simulate import METHOD, parse_levers, simulate_metric
from cxchange.measure.mixed import ONE_SCALE, check_one_scale, rows_by_scale
from cxchange.measure.scale import AN_ANSWER, LABELS, check_metric, default_metric
from cxchange.measure.service import ScoreQuery, scope_text
from cxchange.measure.stats import METRICS
from cxchange.understand.themes.taxonomy import theme_rows

DEFAULT_SHARE = 0.5
DEFAULT_CHURN = 0.10  # share of at-risk detractors assumed lost in a year unless the user says otherwise
DEFAULT_EFFORT = 3
# root_causes: closed-loop cases whose root cause is the theme (sustain stage) count as evidence.
DEFAULT_WEIGHTS = {
    "nps_gain": 1.0, "revenue_at_risk": 1.0, "trend": 0.5, "customers": 0.0, "root_causes": 0.5,
}  # fmt: skip
TREND_DAYS = 90


@dataclass(frozen=True)
class Scope:
    where: Sequence[str] = ()
    source: str | None = None
    period: Period = ALL_TIME


@dataclass
class _Prepared:
    respondents: Respondents
    answered: pl.DataFrame  # rows with an answer of `metric`
    strata: np.ndarray
    strata_name: str
    metric: str = "nps"
    notes: list[str] = field(default_factory=list)


# Themes fixed in one simulation: more is no plan, and each one costs a column of work per draw.
MAX_FIXES = 50


def parse_fixes(items: Sequence[str]) -> list[tuple[str, float]]:
    """(theme, share) per distinct theme: a theme named twice is fixed once (twice with different shares
    is an error, not a guess); at most MAX_FIXES themes."""
    out: dict[str, tuple[str, float]] = {}
    for item in items:
        name, sep, value = item.rpartition("=") if "=" in item else (item, "", "")
        name = name.strip()
        try:
            share = float(value) if sep else DEFAULT_SHARE
        except ValueError:
            raise InputError(f"--fix wants THEME or THEME=SHARE (0..1), got {item!r}") from None
        if not 0 <= share <= 1:
            raise InputError(f"--fix share must be between 0 and 1, got {share}")
        key = name.casefold()
        if key in out and out[key][1] != share:
            raise InputError(f"--fix names {name!r} twice with different shares ({out[key][1]} and {share})")
        out[key] = (name, share)
    if len(out) > MAX_FIXES:
        raise InputError(f"--fix names {len(out)} themes; at most {MAX_FIXES} at once")
    return list(out.values())


def respondents_in(engine: Engine, scope: Scope, *, attrs: Sequence[str], text: bool = False) -> Respondents:
    """The respondents in ``scope`` (see `load_respondents`); an error when no comment is analysed yet."""
    r = load_respondents(
        engine, where=scope.where, source=scope.source, period=scope.period, attrs=attrs, text=text
    )
    return _analysed(r)


def _analysed(r: Respondents) -> Respondents:
    if not r.analysed:
        raise CxError("no analysed comments: run `cxchange analyze` first")
    return r


def _prepare(
    engine: Engine, scope: Scope, respondents: Respondents | None = None, metric: str | None = None
) -> _Prepared:
    """``respondents``: already loaded for this same scope with ``attrs=["segment"]`` (a page that also
    shows drivers loads them once); else they are loaded here. ``metric``: None picks `default_metric`
    of the scope's answers."""
    if respondents is not None and "attr:segment" in respondents.frame.columns:
        r = _analysed(respondents)
    else:
        r = respondents_in(engine, scope, attrs=["segment"])
    answers = {m: r.frame[m].drop_nulls().len() for m in METRICS}
    metric = check_metric(metric) if metric else default_metric(answers)
    answered = r.frame.filter(pl.col(metric).is_not_null())
    if answered.height == 0:
        raise CxError(_no_answers(metric, answers))
    if metric == "rating":  # a simulated mean of 1-5 and 1-10 answers at once would mean nothing
        where = (*scope.where, *([f"source={scope.source}"] if scope.source else []))
        words = scope_text(ScoreQuery(metric=metric, where=where, period=scope.period))
        check_one_scale(rows_by_scale(answered), words, ONE_SCALE)
    has_segment = answered["attr:segment"].drop_nulls().n_unique() > 1
    key = (
        pl.col("source") + pl.lit("|") + pl.col("attr:segment").fill_null("?")
        if has_segment
        else pl.col("source")
    )
    # Dense ranks of the labels: the same strata in the same order as the labels themselves, but the
    # simulator's grouping then sorts integers, not a million strings once per theme.
    strata = answered.select(key.rank("dense").alias("k"))["k"].to_numpy()
    return _Prepared(r, answered, strata, "source and segment" if has_segment else "source", metric)


def _no_answers(metric: str, answers: Mapping[str, int]) -> str:
    """No answers of the chosen metric: which metrics the scope does have, and the flag to use them."""
    head = (
        "no NPS answers in scope: the simulator needs 0–10 scores"
        if metric == "nps"
        else f"no {metric} answers in scope"
    )
    others = [(m, n) for m, n in answers.items() if n and m != metric]
    if not others:
        return head
    # A store of ratings or CSAT can simulate on them, and rank its themes with drivers: say how.
    first = default_metric({m: n for m, n in answers.items() if m != metric})
    return (
        f"{head}; this scope has {counted(others)} answers: `--metric {first}` simulates on them, "
        f"`cxchange drivers --target {first} --from themes` ranks the themes against them"
    )


def _stores(answered: pl.DataFrame) -> np.ndarray | None:
    """Each respondent's store as an int (answers without a store form one group), for the bootstrap
    to resample whole stores; None when the frame has no store column."""
    if "unit" not in answered.columns:
        return None
    return answered.select(pl.col("unit").fill_null("").rank("dense").alias("k"))["k"].to_numpy()


def simulate(
    engine: Engine,
    fixes: Sequence[str],
    *,
    moves: Sequence[str] = (),
    scope: Scope = Scope(),
    draws: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    metric: str | None = None,
) -> dict[str, Any]:
    """The projected score (`metric`, None: the scope's default) if the themes were fixed for their
    shares of complainers. NPS results keep baseline_nps and projected_nps; every result has metric,
    baseline and projected (every metric here is higher-is-better: CES is 1–7, 7 = very easy)."""
    parsed = parse_fixes(fixes)
    try:
        levers = parse_levers(moves)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if not parsed and not levers:
        raise InputError("give at least one --fix THEME[=SHARE] or --move LEVER=SHARE")
    p = _prepare(engine, scope, metric=metric)
    if levers and p.metric != "nps":
        raise InputError("--move levers move NPS categories: they need --metric nps")
    # A theme named by name and by id is still one theme: fixing it twice would compound the effect.
    by_id: dict[int, tuple[str, float]] = {}
    for name, share in parsed:
        tid = p.respondents.theme_id(name)
        if tid in by_id and by_id[tid][1] != share:
            raise InputError(f"--fix names theme {name!r} twice with different shares")
        by_id.setdefault(tid, (name, share))
    ids, parsed = list(by_id), list(by_id.values())
    for parent in ids:  # a sub-theme's complaints are its parent's too: fixed twice they would compound
        if inside := [t for t in p.respondents.below.get(parent, ()) if t in by_id]:
            raise InputError(
                f"--fix names {p.respondents.name(parent)!r} and its sub-theme "
                f"{p.respondents.name(inside[0])!r}: fix the parent alone, or its sub-themes"
            )
    affected = (
        np.column_stack([p.answered[f"negative:{t}"].to_numpy().astype(bool) for t in ids])
        if ids
        else (np.zeros((p.answered.height, 0), dtype=bool))
    )
    res = simulate_metric(
        p.metric, p.answered[p.metric].to_numpy(), p.strata, affected, [s for _, s in parsed],
        levers=levers, draws=draws, seed=seed, level=level, clusters=_stores(p.answered),
    )  # fmt: skip
    names = [p.respondents.name(t) for t in ids]
    fixed_text = ", ".join(
        f"{n} for {s:.0%} of those who complain about it" for n, (_, s) in zip(names, parsed, strict=True)
    )
    assumptions = [
        f"fixed: {fixed_text}" if parsed else "no theme fixed",
        "a complaint is a mention whose clause has negative sentiment (score ≤ −0.05)",
        f"comparable customers: same {p.strata_name}, complaining about none of the fixed themes",
        "fixing a theme does not change what the customer says about other themes",
        f"only respondents with {AN_ANSWER[p.metric]} answer count; the mix of respondents stays as observed",
        *[f"lever: {k} moves {v:.0%} of them" for k, v in levers.items()],
    ]  # fmt: skip
    nps_keys = (
        {"baseline_nps": res.baseline_nps, "projected_nps": res.projected_nps} if p.metric == "nps" else {}
    )
    return {
        **nps_keys,
        "metric": p.metric,
        "baseline": res.baseline_nps,
        "projected": res.projected_nps,
        "delta": res.delta,
        "ci_low": res.ci_low,
        "ci_high": res.ci_high,
        "delta_ci_low": res.delta_ci_low,
        "delta_ci_high": res.delta_ci_high,
        "customers_affected": res.customers_affected,
        "n": res.n,
        "fixes": [{"theme": n, "share": s} for n, (_, s) in zip(names, parsed, strict=True)],
        "method": METHOD.format(
            strata=p.strata_name, draws=draws, level=level, resampled=res.resampled, label=LABELS[p.metric]
        ),
        "assumptions": assumptions,
    }


def parse_weights(items: Sequence[str]) -> dict[str, float]:
    weights = dict(DEFAULT_WEIGHTS)
    for item in items:
        for part in item.split(","):
            name, _, value = part.partition("=")
            name = "nps_gain" if name.strip() == "gain" else name  # one weight for the gain, any metric
            if name.strip() not in DEFAULT_WEIGHTS:
                raise InputError(f"unknown weight {name!r}; use {', '.join(DEFAULT_WEIGHTS)}")
            try:
                weights[name.strip()] = float(value)
            except ValueError:
                raise InputError(f"weight {name} wants a number, got {value!r}") from None
    return weights


def formula_text(weights: Mapping[str, float], effort_power: float, gain: str = "nps_gain") -> str:
    """The priority formula; `gain`: the name of the gain column (the `nps_gain` weight applies to it)."""
    terms = " + ".join(f"{w:g}·{gain if k == 'nps_gain' else k}/max({gain if k == 'nps_gain' else k})"
                       for k, w in weights.items() if w)  # fmt: skip
    return f"priority = ({terms}) / effort^{effort_power:g}   (effort 1–5, {DEFAULT_EFFORT} when not set)"


class FigureOptions(TypedDict, total=False):
    """`opportunity_figures`' options, which `opportunities` passes on."""

    share: float
    churn_rate: float
    scope: Scope
    draws: int
    seed: int
    respondents: Respondents | None
    metric: str | None


def opportunities(
    engine: Engine,
    *,
    weights: Mapping[str, float] | None = None,
    effort_power: float = 1.0,
    **options: Unpack[FigureOptions],
) -> dict[str, Any]:
    """Every theme ranked by what fixing it is worth; the formula travels with the result. `options`:
    those of `opportunity_figures` (``respondents`` and ``metric``: see `_prepare`)."""
    measured = opportunity_figures(engine, **options)
    return rank_opportunities(engine, measured, weights=weights, effort_power=effort_power)


def opportunity_figures(
    engine: Engine,
    *,
    share: float = DEFAULT_SHARE,
    churn_rate: float = DEFAULT_CHURN,
    scope: Scope = Scope(),
    draws: int = 500,
    seed: int = 0,
    respondents: Respondents | None = None,
    metric: str | None = None,
) -> dict[str, Any]:
    """The slow half of `opportunities`, which depends on the feedback and its analysis only: each
    theme's simulated gain on `metric` (NPS: `nps_gain`; else `gain`, positive = better), complaining
    customers, trend and revenue at risk (unranked).

    Split from the ranking so a result kept per data version (decide/overview.py) is ranked again with
    the current root causes and efforts, which change without the feedback changing."""
    if not 0 <= churn_rate <= 1:
        raise InputError("--churn-rate must be between 0 and 1")
    p = _prepare(engine, scope, respondents, metric)
    # Only the columns read below: every filter of the full frame (3 columns a theme) copied them all.
    frame = p.respondents.frame.select(
        "received_at", "analysed", "customer_id", "customer_value", "nps", "csat", "rating", "rating_scale",
        *[f"negative:{tid}" for tid in p.respondents.themes],
    )  # fmt: skip
    last = frame["received_at"].max()
    scores = p.answered[p.metric].to_numpy()
    stores = _stores(p.answered)
    gain = gain_key(p.metric)
    rows: list[dict[str, Any]] = []
    for tid, name in p.respondents.themes.items():
        neg_col = f"negative:{tid}"
        affected = p.answered[neg_col].to_numpy().astype(bool)[:, None]
        res = simulate_metric(
            p.metric, scores, p.strata, affected, [share], draws=draws, seed=seed, clusters=stores
        )
        complainers = frame.filter(pl.col(neg_col) == 1)
        customers = _distinct_customers(complainers)
        detractors = complainers.filter(detractor())
        # No customer value on any of them: the money is unknown (None), never a measured 0 (as the case).
        value = _customer_value(detractors) if detractors["customer_value"].drop_nulls().len() else None
        rows.append(
            {
                "theme": name,
                "theme_id": tid,
                gain: res.delta,
                "ci_low": res.delta_ci_low,
                "ci_high": res.delta_ci_high,
                "customers": customers,
                "trend": _trend(frame, neg_col, last),
                "revenue_at_risk": None if value is None else round(value * churn_rate, 2),
            }
        )
    return {
        "share": share, "churn_rate": churn_rate, "metric": p.metric, "rows": rows,
        "gain_formula": gain_formula(p.metric, share, p.strata_name),
    }  # fmt: skip


def gain_key(metric: str) -> str:
    """The opportunity rows' gain column: `nps_gain` as it always was for NPS, `gain` for the others."""
    return "nps_gain" if metric == "nps" else "gain"


def gain_formula(metric: str, share: float, strata: str) -> str:
    """How an opportunity's gain is computed, in words, printed and served with the ranking."""
    label = LABELS[metric]
    fixed = (
        f"fixing {share:.0%} of the customers who mention the theme negatively: each fixed customer's "
        f"answer becomes that of a random comparable customer (same {strata}) who does not"
    )
    if metric == "nps":
        return f"nps_gain = NPS after − NPS now, {fixed} (see `cxchange simulate`)"
    return f"gain = {label} after − {label} now, {fixed} (see `cxchange simulate --metric {metric}`)"


def rank_opportunities(
    engine: Engine,
    measured: Mapping[str, Any],
    *,
    weights: Mapping[str, float] | None = None,
    effort_power: float = 1.0,
) -> dict[str, Any]:
    """`opportunity_figures` with each theme's current effort and root causes, scored and sorted."""
    weights = dict(weights or DEFAULT_WEIGHTS)
    gain = gain_key(measured.get("metric", "nps"))  # figures stored before metrics were chosen: NPS
    effort = {t["id"]: t["effort"] for t in theme_rows(engine)}
    causes = ask(ROOT_CAUSES, engine, {})
    rows = [
        {**r, "effort": effort.get(r["theme_id"]), "root_causes": int(causes.get(r["theme"], 0))}
        for r in measured["rows"]
    ]
    maxima = {
        "nps_gain": max([max(r[gain], 0.0) for r in rows] + [0.0]),
        "revenue_at_risk": max([r["revenue_at_risk"] or 0.0 for r in rows] + [0.0]),
        "trend": max([max(r["trend"] or 0.0, 0.0) for r in rows] + [0.0]),
        "customers": max([float(r["customers"]) for r in rows] + [0.0]),
        "root_causes": max([float(r["root_causes"]) for r in rows] + [0.0]),
    }
    for r in rows:
        score = 0.0
        for k, w in weights.items():
            v = max(float(r[gain if k == "nps_gain" else k] or 0.0), 0.0)
            score += w * (v / maxima[k] if maxima[k] > 0 else 0.0)
        r["priority"] = round(score / float(r["effort"] or DEFAULT_EFFORT) ** effort_power, 4)
    rows.sort(key=lambda r: (-r["priority"], -r[gain], r["theme"]))
    return {
        "formula": formula_text(weights, effort_power, gain),
        "metric": measured.get("metric", "nps"),
        "gain_formula": measured.get("gain_formula"),
        "share": measured["share"],
        "churn_rate": measured["churn_rate"],
        "trend": f"change in the share of comments complaining about the theme, last {TREND_DAYS} days "
        f"vs the {TREND_DAYS} before (points; positive = getting worse)",
        "opportunities": rows,
    }


def _distinct_customers(frame: pl.DataFrame) -> int:
    with_id = frame.filter(pl.col("customer_id").is_not_null())
    return int(with_id["customer_id"].n_unique() + (frame.height - with_id.height))


def _customer_value(frame: pl.DataFrame) -> float:
    """Sum of customer_value over distinct customers (anonymous rows count once each)."""
    with_id = frame.filter(pl.col("customer_id").is_not_null()).unique("customer_id", keep="first")
    anon = frame.filter(pl.col("customer_id").is_null())
    return float(with_id["customer_value"].fill_null(0).sum() or 0) + float(
        anon["customer_value"].fill_null(0).sum() or 0
    )


def _trend(frame: pl.DataFrame, neg_col: str, last: Any) -> float | None:
    if last is None:
        return None
    cut = last - timedelta(days=TREND_DAYS)
    start = cut - timedelta(days=TREND_DAYS)
    analysed = frame.filter(pl.col("analysed"))
    recent = analysed.filter(pl.col("received_at") > cut)
    before = analysed.filter((pl.col("received_at") > start) & (pl.col("received_at") <= cut))
    if recent.height == 0 or before.height == 0:
        return None
    return round(100.0 * (_mean(recent[neg_col]) - _mean(before[neg_col])), 2)


def _mean(values: pl.Series) -> float:
    """The mean of a numeric column with values (polars types `mean` for any column, dates and text too)."""
    m = values.mean()
    if not isinstance(m, int | float):
        raise TypeError(f"{values.name}: no numeric mean ({m!r})")
    return float(m)
