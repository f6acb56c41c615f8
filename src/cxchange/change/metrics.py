"""Success measures tied to feedback: baseline before the start, now since the start, target.

Metrics: nps, csat, ces, rating (scores with the intervals `cxchange.measure.service.scores` gives;
a store of star ratings could not add the measure its business case proposed), and
theme-share:THEME (per cent of analysed comments that mention the theme, Wilson interval) and
theme-sentiment:THEME (mean sentiment of the theme's mentions, t interval).

The baseline window is the BASELINE_DAYS (365) days before the initiative's start; "now" is
everything since the start. Targets: "+5" / "-3" move from the baseline; ">=40", "≥40", "<=12", "≤12"
are absolute levels (">" and "<" are read the same way).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from scipy import special
from sqlalchemy import Engine, Select, func, select

from cxchange.change.common import as_date, get_initiative, initiative_units, session_for
from cxchange.change.models import SuccessMetric
from cxchange.core.errors import InputError
from cxchange.core.output import rounded as _r  # the one rounding rule
from cxchange.core.period import Columns, Period
from cxchange.listen.models import Feedback
from cxchange.measure.service import ScoreQuery, scores
from cxchange.org.tree import org_tree
from cxchange.understand.models import FeedbackSentiment, FeedbackTheme

BASELINE_DAYS = 365
SCORE_METRICS = ("nps", "csat", "ces", "rating")
THEME_METRICS = ("theme-share", "theme-sentiment")
LEVEL = 0.95
_TARGET = re.compile(r"^\s*(\+|-|>=|≥|>|<=|≤|<)\s*(\d+(?:\.\d+)?)\s*%?\s*$")


def parse_target(text: str) -> tuple[str, float, str]:
    """ "+5" -> ("relative", 5, "up"); "-3" -> ("relative", -3, "down"); "≥40" -> ("absolute", 40, "up")."""
    m = _TARGET.match(text or "")
    if not m:
        raise InputError(f"--target wants +N or -N (from the baseline) or >=N / <=N (a level), got {text!r}")
    op, num = m.group(1), float(m.group(2))
    if op == "+":
        return "relative", num, "up"
    if op == "-":
        return "relative", -num, "down"
    return "absolute", num, "up" if op in (">=", "≥", ">") else "down"


def target_value(target: str, baseline: float | None) -> float | None:
    kind, num, _ = parse_target(target)
    if kind == "absolute":
        return num
    return None if baseline is None else round(baseline + num, 2)


def is_met(value: float | None, tv: float | None, direction: str) -> bool | None:
    if value is None or tv is None:
        return None
    return value >= tv if direction == "up" else value <= tv


def wilson(k: int, n: int, level: float = LEVEL) -> tuple[float | None, float | None]:
    if n == 0:
        return None, None
    z = float(special.ndtri(0.5 + level / 2))
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def t_interval(n: int, mean: float, sd: float, level: float = LEVEL) -> tuple[float | None, float | None]:
    if n < 2:
        return None, None
    half = float(special.stdtrit(n - 1, 0.5 + level / 2)) * sd / math.sqrt(n)
    return mean - half, mean + half


def split_metric(metric: str, score_metrics: Sequence[str] = SCORE_METRICS) -> tuple[str, str | None]:
    """(kind, theme) of "nps" or "theme-share:THEME"; `scores`: the score metrics the caller measures."""
    kind, _, theme = (metric or "").strip().partition(":")
    kind = kind.strip().lower()
    if kind in score_metrics and not theme:
        return kind, None
    if kind in THEME_METRICS and theme.strip():
        return kind, theme.strip()
    wanted = ", ".join((*score_metrics, "theme-share:THEME or theme-sentiment:THEME"))
    raise InputError(f"--metric wants {wanted}, got {metric!r}")


def _score_value(
    engine: Engine, metric: str, codes: list[str], since: date | None, until: date | None
) -> dict:
    rows = scores(
        engine,
        ScoreQuery(
            metric=metric, where=tuple(f"unit={c}" for c in codes), period=Period(since, until), min_n=1
        ),
    )
    if not rows:
        return {"value": None, "n": 0, "ci_low": None, "ci_high": None}
    r = rows[0]
    return {"value": r["score"], "n": r["n"], "ci_low": r["ci_low"], "ci_high": r["ci_high"]}


def _theme_value(
    engine: Engine,
    kind: str,
    theme_id: int | None,
    unit_ids: list[int],
    since: date | None,
    until: date | None,
) -> dict:
    def window(stmt: Select[*Columns]) -> Select[*Columns]:
        return Period(since, until).where(
            stmt.where(Feedback.org_unit_id.in_(unit_ids)), Feedback.received_at
        )

    empty = {"value": None, "n": 0, "ci_low": None, "ci_high": None}
    if theme_id is None or not unit_ids:
        return empty
    with engine.connect() as conn:
        if kind == "theme-share":
            analysed = conn.execute(
                window(
                    select(func.count())
                    .select_from(Feedback)
                    .join(FeedbackSentiment, FeedbackSentiment.feedback_id == Feedback.id)
                )
            ).scalar()
            n = int(analysed or 0)
            k = conn.execute(
                window(
                    select(func.count())
                    .select_from(Feedback)
                    .join(FeedbackSentiment, FeedbackSentiment.feedback_id == Feedback.id)
                    .join(FeedbackTheme, FeedbackTheme.feedback_id == Feedback.id)
                    .where(FeedbackTheme.theme_id == theme_id)
                )
            ).scalar()
            k = int(k or 0)
            if n == 0:
                return empty
            lo, hi = wilson(k, n)
            return {
                "value": _r(100 * k / n),
                "n": n,
                "mentions": k,
                "ci_low": _r(100 * lo) if lo is not None else None,
                "ci_high": _r(100 * hi) if hi is not None else None,
            }
        s = FeedbackTheme.sentiment
        row = conn.execute(
            window(
                select(func.count(s), func.avg(s), func.avg(s * s))
                .select_from(Feedback)
                .join(FeedbackTheme, FeedbackTheme.feedback_id == Feedback.id)
                .where(FeedbackTheme.theme_id == theme_id, s.is_not(None))
            )
        ).one()
    n = int(row[0] or 0)
    if n == 0:
        return empty
    mean = float(row[1])
    var = max(0.0, float(row[2]) - mean * mean) * n / (n - 1) if n > 1 else 0.0
    lo, hi = t_interval(n, mean, math.sqrt(var))
    return {"value": _r(mean, 3), "n": n, "ci_low": _r(lo, 3), "ci_high": _r(hi, 3)}


def _measure(
    engine: Engine, m: SuccessMetric, codes: list[str], tree: Any, start: date, *, judged: bool = True
) -> dict[str, Any]:
    """Baseline, now and change of one measure over `codes`; against its target only when `judged` (the
    control units are a comparison: a control "met" the target read as the initiative's success)."""
    kind, _ = split_metric(m.metric)
    base_since = start - timedelta(days=BASELINE_DAYS)
    if kind in SCORE_METRICS:
        baseline = _score_value(engine, kind, codes, base_since, start)
        now = _score_value(engine, kind, codes, start, None)
    else:
        ids: set[int] = set()
        for c in codes:
            ids |= tree.subtree_ids(c)
        baseline = _theme_value(engine, kind, m.theme_id, sorted(ids), base_since, start)
        now = _theme_value(engine, kind, m.theme_id, sorted(ids), start, None)
    baseline.update(since=base_since, until=start)
    now.update(since=start, until=None)
    _, _, direction = parse_target(m.target)
    tv = target_value(m.target, baseline["value"]) if judged else None
    met = is_met(now["value"], tv, direction) if judged else None
    if direction == "up":
        confident = None if tv is None or now["ci_low"] is None else now["ci_low"] >= tv
    else:
        confident = None if tv is None or now["ci_high"] is None else now["ci_high"] <= tv
    change = (
        None if now["value"] is None or baseline["value"] is None else _r(now["value"] - baseline["value"], 3)
    )
    if now["value"] is None:
        status = "no data"
    elif not judged:
        status = "comparison"
    elif met:
        status = "met"
    elif m.by_date is not None and date.today() > m.by_date:
        status = "missed"
    else:
        status = "not yet"
    return {
        "units": codes,
        "baseline": baseline,
        "now": now,
        "change": change,
        "target_value": tv,
        "met": met,
        "met_confidently": confident,
        "status": status,
    }


def evaluate(engine: Engine, initiative_id: int) -> list[dict[str, Any]]:
    """Every success measure: baseline -> now -> target, for the scope and for pilot and control units."""
    with session_for(engine) as s:
        ini = get_initiative(s, initiative_id)
        metrics = list(
            s.scalars(
                select(SuccessMetric).where(SuccessMetric.initiative_id == ini.id).order_by(SuccessMetric.id)
            )
        )
        units = {role: [u.code for u in us] for role, us in initiative_units(s, ini.id).items()}
        tree = org_tree(s)
        start = ini.start
    out = []
    for m in metrics:
        _, _, direction = parse_target(m.target)
        row: dict[str, Any] = {
            "id": m.id,
            "metric": m.metric,
            "target": m.target,
            "by": m.by_date,
            "direction": direction,
        }
        row.update(_measure(engine, m, units["scope"], tree, start))
        for role in ("pilot", "control"):
            judged = role == "pilot"
            row[role] = (
                _measure(engine, m, units[role], tree, start, judged=judged) if units.get(role) else None
            )
        if row["pilot"] and row["control"]:
            pc, cc = row["pilot"]["change"], row["control"]["change"]
            row["pilot_minus_control"] = None if pc is None or cc is None else _r(pc - cc, 3)
        out.append(row)
    return out


def add_metric(
    engine: Engine, initiative: int | str, metric: str, target: str, by: date | str | None = None
) -> dict[str, Any]:
    kind, theme = split_metric(metric)
    parse_target(target)
    by_date = as_date(by, "--by")
    with session_for(engine) as s, s.begin():
        ini = get_initiative(s, initiative)
        theme_id = None
        name = kind
        if theme is not None:
            from cxchange.understand.themes.taxonomy import find_theme

            t = find_theme(s, theme)
            theme_id, name = t.id, f"{kind}:{t.name}"
        exists = s.scalars(
            select(SuccessMetric).where(SuccessMetric.initiative_id == ini.id, SuccessMetric.metric == name)
        ).first()
        if exists is not None:
            exists.target, exists.by_date, exists.theme_id = target.strip(), by_date, theme_id
            m = exists
        else:
            m = SuccessMetric(
                initiative_id=ini.id, metric=name, theme_id=theme_id, target=target.strip(), by_date=by_date
            )
            s.add(m)
        s.flush()
        mid, ini_id = m.id, ini.id
    return next(r for r in evaluate(engine, ini_id) if r["id"] == mid)


def list_metrics(engine: Engine, initiative: int | str) -> list[dict[str, Any]]:
    with session_for(engine) as s:
        ini = get_initiative(s, initiative)
    return evaluate(engine, ini.id)
