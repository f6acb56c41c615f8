"""Alerts, so gains don't slip back: rules on a unit's score or on theme spikes, fired only when the
change is statistically meaningful, each firing delivered by e-mail and/or webhook.

- drop: a CUSUM over the last `window`'s days against the year before it (`sustain.sequential`), tuned
  to catch a fall of POINTS fastest; its p-value is the chance of so high a CUSUM within a quarter
  without any change. Rules are judged after every import, so a fixed-level test per look would fire on
  noise over and over; the CUSUM's false alerts per quarter are measured in `eval/alerts.py`. A rule
  that fired does not fire again within its window (the same episode).
- below: the last window's score interval lies wholly below VALUE (upper bound < VALUE).
- theme-spike: the emerging-issue detector (`understand.service.emerging`) flags the theme (or any
  theme) in the unit's last window.

Drop and below rules judged at one look are thresholded together by Benjamini–Hochberg at 5 %, so many
rules do not multiply false alerts; theme spikes keep their own detector's threshold.

Either window holding fewer than `min_n` answers (CXCHANGE_MIN_N, 30) is too small to judge: the
rule is skipped with a note. Windows end at the day after the newest feedback in the rule's scope,
so a unit whose feedback stopped arriving is judged on its last data. The fingerprint (rule,
condition, window end) makes the same finding fire once. A rule that cannot be evaluated (no data
in a window, a unit or theme that was deleted) is reported in `notes`, never raised.

History is not judged: a rule whose scope has no feedback received within its window before `now`
(a parameter: tests set the clock) is skipped with a note, so importing two years of history fires
nothing about last year. `evaluate` counts the rules it judged (`evaluated`) apart from the skipped.
"""

from __future__ import annotations

import logging
import math
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cxchange.core.config import Settings
from cxchange.core.errors import CxError, InputError, NotFoundError
from cxchange.core.output import rounded  # the one rounding rule
from cxchange.core.period import Period
from cxchange.core.spans import parse_span
from cxchange.core.types import check_page
from cxchange.listen.models import Feedback
from cxchange.measure.service import ScoreQuery, grouped_counts
from cxchange.measure.stats import score_from_counts
from cxchange.org.models import OrgUnit
from cxchange.org.tree import load_org_tree
from cxchange.sustain.cases import rule_listing
from cxchange.sustain.delivery import deliver_due
from cxchange.sustain.models import Alert, AlertDelivery, AlertRule
from cxchange.sustain.sequential import discoveries, drop_check
from cxchange.understand.models import Theme
from cxchange.understand.service import emerging
from cxchange.understand.themes.taxonomy import find_theme

log = logging.getLogger(__name__)

SCORE_METRICS = ("nps", "csat", "ces", "rating")
ALPHA = 0.05
SPIKE_BASELINE = "8w"
# A rule on ratings whose scope holds two scales (`measure.mixed`): a rule has no --where nor --by.
ONE_SCALE_RULE = (
    "a rule on rating needs a scope on one scale: give the rule a --unit rated on one, or another --metric"
)


# --- rules ----------------------------------------------------------------------------------------


def _channels(email: list[str] | str | None, webhook: list[str] | str | None) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for e in [email] if isinstance(email, str) else email or []:
        e = e.strip()
        if "@" not in e or " " in e or e.startswith("@") or e.endswith("@"):
            raise InputError(f"--email {e!r} is not an e-mail address")
        out.append({"email": e})
    for w in [webhook] if isinstance(webhook, str) else webhook or []:
        w = w.strip()
        if not w.lower().startswith(("http://", "https://")):
            raise InputError(f"--webhook wants an http:// or https:// URL, got {w!r}")
        out.append({"webhook": w})
    return out


def add_rule(
    engine: Engine,
    *,
    metric: str,
    unit: str | None = None,
    drop: float | None = None,
    below: float | None = None,
    window: str = "30d",
    theme: str | None = None,
    email: list[str] | str | None = None,
    webhook: list[str] | str | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    metric = (metric or "").strip().lower()
    days = parse_span(window, "--window")
    channels = _channels(email, webhook)
    with Session(engine) as s, s.begin():
        rule = AlertRule(metric=metric, window_days=days, channels=channels, active=True)
        where = "all units"
        if unit:
            u = s.scalars(select(OrgUnit).where(func.lower(OrgUnit.code) == unit.strip().lower())).first()
            if u is None:
                raise NotFoundError(f"--unit: no org unit with code {unit!r} (see `cxchange org show`)")
            rule.unit_id, where = u.id, u.code
        if metric == "theme-spike":
            if drop is not None or below is not None:
                raise InputError("--metric theme-spike takes no --drop or --below")
            rule.kind = "spike"
            label = "any theme"
            if theme:
                t = find_theme(s, theme)
                rule.theme_id, label = t.id, t.name
            default = f"{label} spiking in {where} ({days}d)"
        elif metric in SCORE_METRICS:
            if theme:
                raise InputError("--theme goes with --metric theme-spike")
            if (drop is None) == (below is None):
                raise InputError(f"--metric {metric} needs either --drop POINTS or --below VALUE")
            if drop is not None:
                if drop <= 0:
                    raise InputError(f"--drop wants a positive number of points, got {drop:g}")
                rule.kind, rule.value = "drop", float(drop)
                default = f"{metric.upper()} in {where} drops {drop:g}+ over {days}d"
            else:
                assert below is not None
                rule.kind, rule.value = "below", float(below)
                default = f"{metric.upper()} in {where} below {below:g} ({days}d)"
        else:
            raise InputError(
                f"--metric wants one of {', '.join((*SCORE_METRICS, 'theme-spike'))}; got {metric!r}"
            )
        rule.name = (name or default).strip()
        if s.scalars(select(AlertRule).where(AlertRule.name == rule.name)).first():
            raise InputError(f"an alert rule named {rule.name!r} exists already; pick another --name")
        s.add(rule)
        s.flush()
        return _rule_row(s, rule)


def _rule_row(s: Session, r: AlertRule) -> dict[str, Any]:
    unit = s.get(OrgUnit, r.unit_id) if r.unit_id else None
    theme = s.get(Theme, r.theme_id) if r.theme_id else None
    if r.kind == "drop":
        condition = f"CUSUM for a drop of {r.value:g} points, p < {ALPHA} per quarter (BH across rules)"
    elif r.kind == "below":
        condition = f"upper 95% bound < {r.value:g}"
    else:
        condition = f"emerging spike of {theme.name if theme else 'any theme'}"
    watches = {"metric": r.metric, "unit": unit.code if unit else None}
    channels = ", ".join(f"{k}:{v}" for c in r.channels or [] for k, v in c.items())
    return rule_listing(r, watches, condition, {"window_days": r.window_days, "channels": channels})


def list_rules(engine: Engine) -> list[dict[str, Any]]:
    with Session(engine) as s:
        return [_rule_row(s, r) for r in s.scalars(select(AlertRule).order_by(AlertRule.id))]


# --- evaluation -----------------------------------------------------------------------------------


def _window_end(engine: Engine, unit_ids: set[int] | None) -> date | None:
    stmt = select(func.max(Feedback.received_at))
    if unit_ids is not None:
        stmt = stmt.where(Feedback.org_unit_id.in_(sorted(unit_ids)))
    with engine.connect() as conn:
        last = conn.scalar(stmt)
    if last is None:
        return None
    if isinstance(last, str):
        last = datetime.fromisoformat(last)
    return last.date() + timedelta(days=1)


BASELINE_DAYS = 365


def _one_answer_scores(metric: str, values: np.ndarray) -> np.ndarray:
    """The score each answer contributes to the metric's mean (NPS ±100 / 0, CSAT 100 / 0)."""
    if metric == "nps":
        return np.where(values >= 9, 100.0, np.where(values <= 6, -100.0, 0.0))
    if metric == "csat":
        return np.where(values >= 4, 100.0, 0.0)
    return values.astype(float)


def _daily(engine: Engine, metric: str, unit: str | None, since: date, until: date) -> dict[str, np.ndarray]:
    """Per-day sum, sum of squares and count of one-answer scores over [since, until)."""
    q = ScoreQuery(
        metric=metric, by=("day",), where=(f"unit={unit}",) if unit else (), period=Period(since, until)
    )
    frame = grouped_counts(engine, q, path="sql", how=ONE_SCALE_RULE).frame
    days = (until - since).days
    out = {k: np.zeros(days) for k in ("sum", "sumsq", "n")}
    if frame.height:
        idx = np.array([(date.fromisoformat(d) - since).days for d in frame["day"].to_list()])
        x = _one_answer_scores(metric, frame["__value"].to_numpy())
        c = frame["__count"].to_numpy().astype(float)
        for key, v in (("sum", x * c), ("sumsq", x * x * c), ("n", c)):
            np.add.at(out[key], idx, v)
    return out


def _counts(
    engine: Engine, metric: str, unit: str | None, since: date, until: date
) -> tuple[list, list, int | None]:
    """Values, counts and the store's rating scale (what bounds a mean rating's interval)."""
    q = ScoreQuery(metric=metric, where=(f"unit={unit}",) if unit else (), period=Period(since, until))
    counted = grouped_counts(engine, q, path="sql", how=ONE_SCALE_RULE)
    return counted.frame["__value"].to_list(), counted.frame["__count"].to_list(), counted.scale


def _evaluate_score(engine: Engine, rule: AlertRule, unit: str | None, end: date) -> dict[str, Any] | None:
    """The finding (message, detail, fingerprint) when the rule's condition holds, else None."""
    w = timedelta(days=rule.window_days)
    cur = _counts(engine, rule.metric, unit, end - w, end)
    where = unit or "all units"
    if not cur[0]:
        raise InputError(f"no {rule.metric} data in {where} for {end - w}..{end - timedelta(days=1)}")
    min_n = Settings().min_n
    if sum(cur[1]) < min_n:
        raise InputError(f"too few {rule.metric} answers in {where} ({sum(cur[1])} < {min_n}) to judge")
    if rule.kind == "below":
        from cxchange.sustain.sequential import below_p_value

        st = score_from_counts(rule.metric, cur[0], cur[1], scale=cur[2])
        if st.ci_high is None or st.score is None or rule.value is None or not st.ci_high < rule.value:
            return None
        se = (st.ci_high - st.score) / 1.959964  # the upper half-width of the 95 % interval
        return {
            "fingerprint": f"below:{end.isoformat()}",
            "p_value": below_p_value(st.score, se, rule.value),
            "message": f"{rule.metric.upper()} in {where} is {st.score:.1f} (95% CI {st.ci_low:.1f} to "
            f"{st.ci_high:.1f}), below {rule.value:g}, over the {rule.window_days} days to "
            f"{end - timedelta(days=1)}",
            "detail": {"metric": rule.metric, "unit": unit, "score": rounded(st.score),
                       "ci_low": rounded(st.ci_low), "ci_high": rounded(st.ci_high), "n": st.n,
                       "threshold": rule.value, "window_start": end - w, "window_end": end},
        }  # fmt: skip

    base = _daily(engine, rule.metric, unit, end - w - timedelta(days=BASELINE_DAYS), end - w)
    n_base = int(base["n"].sum())
    if n_base == 0:
        raise InputError(f"no {rule.metric} data in {where} in the year before {end - w}")
    if n_base < min_n:
        raise InputError(
            f"too few {rule.metric} answers in {where} before {end - w} ({n_base} < {min_n}) to judge"
        )
    days = _daily(engine, rule.metric, unit, end - w, end)
    assert rule.value is not None
    chk = drop_check(base["sum"].sum(), base["sumsq"].sum(), n_base, days["sum"], days["n"], rule.value)
    if chk.since is None or chk.fall is None:
        return None
    since = end - w + timedelta(days=chk.since)
    return {
        "fingerprint": f"drop:{end.isoformat()}",
        "p_value": chk.p_value,
        "message": f"{rule.metric.upper()} in {where} fell {chk.fall:.1f} points since {since} "
        f"({chk.baseline:.1f} in the year before → {chk.recent:.1f}, {chk.n_recent} answers; CUSUM "
        f"{chk.statistic:.2f}, p = {chk.p_value:.3g} of so high a CUSUM within a quarter by chance)",
        "detail": {"metric": rule.metric, "unit": unit, "before": rounded(chk.baseline),
                   "after": rounded(chk.recent), "change": rounded(-chk.fall), "since": since,
                   "cusum": rounded(chk.statistic, 3),
                   "p_value": rounded(chk.p_value, 5), "n_before": chk.n_baseline, "n_after": chk.n_recent,
                   "threshold": rule.value, "window_start": end - w, "window_end": end},
    }  # fmt: skip


def _evaluate_spike(engine: Engine, rule: AlertRule, unit: str | None, end: date) -> list[dict[str, Any]]:
    found = emerging(
        engine,
        window=f"{rule.window_days}d",
        baseline=f"{max(rule.window_days * 2, 56)}d",
        until=end,
        where=(f"unit={unit}",) if unit else (),
    )
    out = []
    for f in found:
        if f.get("kind") != "spike" or (rule.theme_id is not None and f.get("theme_id") != rule.theme_id):
            continue
        out.append(
            {"fingerprint": f"spike:{f['theme_id']}:{end.isoformat()}",
             "message": f"{f['theme']} is spiking in {unit or 'all units'}: {f['recent_count']} mentions "
                        f"in the last {rule.window_days} days against {f['baseline_mean']} expected "
                        f"(z = {f['z']})",
             "detail": {"theme": f["theme"], "unit": unit, "recent_count": f["recent_count"],
                        "baseline_mean": f["baseline_mean"], "z": f["z"], "terms": f.get("terms", []),
                        "examples": f.get("examples", []), "window_end": end}}
        )  # fmt: skip
    return out


def _plain(v: Any) -> Any:
    """JSON-safe copy (dates as ISO strings, NaN as null) for the detail column."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def _fired_within(engine: Engine, rule: AlertRule, end: date) -> bool:
    """The drop rule already fired for a window ending within its window before `end`: same episode."""
    with Session(engine) as s:
        prints = s.scalars(
            select(Alert.fingerprint).where(Alert.rule_id == rule.id, Alert.fingerprint.like("drop:%"))
        ).all()
    ends = [date.fromisoformat(p.split(":", 1)[1]) for p in prints]
    return any(end - timedelta(days=rule.window_days) < e <= end for e in ends)


def _fire(engine: Engine, rule: AlertRule, finding: dict[str, Any], now: datetime) -> dict[str, Any] | None:
    with Session(engine) as s, s.begin():
        exists = s.scalars(
            select(Alert.id).where(Alert.rule_id == rule.id, Alert.fingerprint == finding["fingerprint"])
        ).first()
        if exists:
            return None
        alert = Alert(
            rule_id=rule.id,
            fired_at=now,
            fingerprint=finding["fingerprint"][:200],
            message=finding["message"],
            detail=_plain(finding["detail"]),
            status="new",
        )
        s.add(alert)
        s.flush()
        for ch in rule.channels or []:
            for kind, target in ch.items():
                s.add(AlertDelivery(alert_id=alert.id, channel=kind, target=target, status="pending",
                                    attempts=0, next_attempt_at=now))  # fmt: skip
        return {"id": alert.id, "rule": rule.name, "message": alert.message}


def evaluate(
    engine: Engine, *, rule_ids: list[int] | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Evaluate active rules at `now` (default: the current UTC time): {"checked": rules looked at,
    "evaluated": rules judged, "fired": [...], "notes": [why each skipped rule was]} (never raises
    per rule)."""
    now = now or datetime.utcnow()
    with Session(engine, expire_on_commit=False) as s:
        stmt = select(AlertRule).where(AlertRule.active.is_(True)).order_by(AlertRule.id)
        if rule_ids:
            stmt = stmt.where(AlertRule.id.in_(rule_ids))
        rules = list(s.scalars(stmt))
    if not rules:
        return {"checked": 0, "evaluated": 0, "fired": [], "notes": []}
    tree = load_org_tree(engine)
    fired: list[dict[str, Any]] = []
    notes: list[str] = []
    evaluated = 0
    scored: list[tuple[AlertRule, dict[str, Any]]] = []  # drop / below findings, thresholded together
    for rule in rules:
        try:
            unit = tree.units[rule.unit_id].code if rule.unit_id in tree.units else None
            if rule.unit_id is not None and unit is None:
                raise InputError(f"unit {rule.unit_id} no longer exists")
            end = _window_end(engine, tree.subtree_ids(unit) if unit else None)
            if end is None:
                raise InputError(f"no feedback in {unit or 'any unit'}")
            if end <= now.date() - timedelta(days=rule.window_days):
                raise InputError(
                    f"no feedback in {unit or 'any unit'} within the {rule.window_days}-day window before "
                    f"{now.date()} (the newest is from {end - timedelta(days=1)}): history is not judged"
                )
            if rule.kind == "spike":
                findings = _evaluate_spike(engine, rule, unit, end)
            else:
                one = _evaluate_score(engine, rule, unit, end)
                findings = []
                if one and not (rule.kind == "drop" and _fired_within(engine, rule, end)):
                    scored.append((rule, one))
            evaluated += 1
            for f in findings:
                made = _fire(engine, rule, f, now)
                if made:
                    fired.append(made)
        except Exception as exc:  # one rule's trouble never stops the others, nor an import
            if not isinstance(exc, CxError):  # a CxError is an answer (no recent feedback): the note says it
                log.warning("alert rule %s not evaluated: %s", rule.name, exc)
            notes.append(f"{rule.name}: {exc}")

    for (rule, finding), keep in zip(scored, discoveries([f["p_value"] for _r, f in scored]), strict=True):
        if keep:
            made = _fire(engine, rule, {k: v for k, v in finding.items() if k != "p_value"}, now)
            if made:
                fired.append(made)
    return {"checked": len(rules), "evaluated": evaluated, "fired": fired, "notes": notes}


def check(engine: Engine, *, now: datetime | None = None) -> dict[str, Any]:
    """`cxchange alerts check`: evaluate every rule, then send (or retry) the deliveries that are due."""
    out = evaluate(engine, now=now)
    out["deliveries"] = deliver_due(engine, now=now)
    return out


def list_alerts(engine: Engine, *, limit: int | None = None) -> list[dict[str, Any]]:
    check_page(limit)
    with Session(engine) as s:
        stmt = (
            select(Alert, AlertRule.name, AlertRule.metric)
            .join(AlertRule, AlertRule.id == Alert.rule_id)
            .order_by(Alert.fired_at.desc(), Alert.id.desc())
        )
        if limit:
            stmt = stmt.limit(limit)
        rows = s.execute(stmt).all()
        ids = [a.id for a, _, _ in rows]
        deliveries: dict[int, list[dict[str, Any]]] = {}
        if ids:
            for d in s.scalars(
                select(AlertDelivery).where(AlertDelivery.alert_id.in_(ids)).order_by(AlertDelivery.id)
            ):
                deliveries.setdefault(d.alert_id, []).append(
                    {"channel": d.channel, "target": d.target, "status": d.status, "attempts": d.attempts,
                     "last_error": d.last_error, "next_attempt_at": d.next_attempt_at, "sent_at": d.sent_at}
                )  # fmt: skip
        return [
            {"id": a.id, "rule": name, "metric": metric, "fired_at": a.fired_at, "status": a.status,
             "message": a.message, "detail": a.detail, "deliveries": deliveries.get(a.id, [])}
            for a, name, metric in rows
        ]  # fmt: skip
