"""Response models of the sustain routes: cases, recognition, alerts, outcomes and scorecards."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import Field

from cxchange.core.api_models import OpenOut, Out, Timestamp

# --- cases -----------------------------------------------------------------------------------------


class CaseOut(Out):
    id: int
    feedback_id: int
    unit: str | None
    assignee: str | None
    status: str
    rule: str | None
    opened_at: Timestamp
    due_at: Timestamp
    overdue: bool
    received_at: Timestamp | None
    customer_id: str | None
    nps: int | None
    csat: int | None
    ces: int | None
    rating: float | None
    text: str | None
    root_cause: str | None


class CaseNote(OpenOut):
    """One event in a case's history: when, and what changed (status, note, assignee, root cause…)."""

    at: str


class CaseDetail(CaseOut):
    contacted_at: Timestamp | None
    resolved_at: Timestamp | None
    notes: list[CaseNote]


class CaseStats(Out):
    # {} overall, else {"unit": CODE} or {"org:LEVEL": NAME}: the key is the grouping asked for.
    group: dict[str, str | None]
    cases: int
    open: int
    contacted: int
    resolved: int
    overdue: int
    resolved_within_sla: int
    median_hours_to_close: float | None
    pct_within_sla: float | None
    root_causes: dict[str, int]  # theme -> cases


class CaseRuleOut(Out):
    id: int
    name: str
    kind: str
    condition: str
    source: str | None
    sla_hours: int
    within_days: int
    active: bool


class YouSaidInitiative(Out):
    id: int
    name: str
    theme: str | None
    status: str


class YouSaidRow(Out):
    customer_id: str | None
    feedback_id: int
    date: date | None
    text: str | None
    unit: str | None


class YouSaidWeDid(Out):
    initiative: YouSaidInitiative
    customers: int
    rows: list[YouSaidRow]


# --- recognition and alerts ------------------------------------------------------------------------


class RecognitionOut(Out):
    id: int
    person: str
    email: str | None
    unit: str | None
    received_at: Timestamp | None
    matched: str
    score: float
    sentiment: float | None
    feedback_id: int
    text: str | None


class DeliveryOut(Out):
    channel: str
    target: str
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: Timestamp | None
    sent_at: Timestamp | None


class AlertOut(Out):
    id: int
    rule: str
    metric: str
    fired_at: Timestamp
    status: str
    message: str
    # What the rule found (scores, window, p-value…): depends on the rule's kind.
    detail: dict[str, Any]
    deliveries: list[DeliveryOut]


class AlertRuleOut(Out):
    id: int
    name: str
    metric: str
    unit: str | None
    condition: str
    window_days: int
    channels: str
    active: bool


class Fired(Out):
    id: int
    rule: str
    message: str


class DeliveryCounts(Out):
    sent: int
    retry: int
    failed: int


class AlertCheck(Out):
    checked: int
    evaluated: int
    fired: list[Fired]
    notes: list[str]
    deliveries: DeliveryCounts


# --- outcomes and scorecards -----------------------------------------------------------------------


class InitiativeRef(Out):
    id: int
    name: str


class DatedInitiative(InitiativeRef):
    start: str | None  # ISO date


class Windows(Out):
    before: list[str]  # [first day, last day], ISO dates
    after: list[str]


class OutcomeSettingsUsed(Out):
    before: str
    after: str
    cluster: str | None
    stored: list[str]  # which settings come from the initiative (the rest are defaults)
    overridden: list[str]  # which ones this request's query string changed


class GroupSummary(Out):
    before: float | None
    after: float | None
    n_before: int
    n_after: int
    units: int
    codes: list[str]


class Wave(Out):
    month: str
    clusters: int


class Inference(Out):
    method: str
    cluster_level: str
    clusters: dict[str, int]  # "pilot" / "control" -> clusters
    assignments: int
    exact: bool
    min_p: float | None
    null_sd: float | None
    waves: list[Wave] | None = None  # a staggered rollout only (the route leaves unset keys out)


class PretrendOut(Out):
    status: str
    slope_diff_per_month: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    months: int
    reason: str | None


class Sensitivity(Out):
    lever_months: float | None
    breakdown_slope_per_month: float | None


class EventMonth(Out):
    month: str
    relative_month: int
    estimate: float | None
    ci_low: float | None
    ci_high: float | None


class ChangeEstimate(Out):
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    se: float | None
    df: int | float | None


class SeriesPoint(Out):
    month: str
    group: str
    value: float | None
    n: int


class OutcomeReport(Out):
    """Pilot vs control (`mode` "did") or before vs after ("before-after"); keys marked below appear
    in one mode only (the route leaves unset keys out)."""

    initiative: DatedInitiative
    metric: str
    mode: str
    window: Windows
    settings: OutcomeSettingsUsed
    higher_is_better: bool
    level: float
    pilot: GroupSummary | None
    control: GroupSummary | None
    did: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    pretrend_ok: bool | None
    # did only
    se: float | None = None
    df: int | float | None = None
    inference: Inference | None = None
    pretrend: PretrendOut | None = None
    sensitivity: Sensitivity | None = None
    event_study: list[EventMonth] | None = None
    # before-after only
    scope: GroupSummary | None = None
    change: ChangeEstimate | None = None
    verdict: str
    verdict_reason: str | None
    verdict_fix: str | None
    summary: str
    caveats: list[str]
    units: dict[str, int]  # clusters per group ("pilot"/"control", or "units")
    overlapping: list[str]
    method: str
    series: list[SeriesPoint]


class OutcomePlan(Out):
    initiative: DatedInitiative
    metric: str
    placebo_start: str
    window: Windows
    cluster_level: str
    clusters: dict[str, int]
    assignments: int
    exact: bool
    min_p: float
    level: float
    power: float
    placebo_estimate: float
    mde: float | None
    mde_test: float | None = None  # absent when no effect could be detected (the route leaves it out)
    null_sd: float
    mde_pretrend: float | None
    reason: str | None
    fix: str | None
    summary: str


class Change(Out):
    # "from" is a Python keyword: the field is named from_ and answers as "from".
    from_: Any = Field(alias="from")
    to: Any


class OutcomeSettings(Out):
    initiative: InitiativeRef
    changed: dict[str, Change]  # setting (or start:UNIT) -> from, to
    before: str
    after: str
    cluster: str | None
    starts: dict[str, str]  # pilot unit -> its own start (ISO date)
    stored: list[str]


class ScorecardRow(Out):
    period: str
    unit: str | None
    name: str
    metric: str
    n: int
    score: float | None
    ci_low: float | None
    ci_high: float | None
    small: bool
    previous_period: str
    previous_score: float | None
    change: float | None
    change_ci_low: float | None
    change_ci_high: float | None
    change_p_value: float | None
    target: float | None
    target_met: bool | None
    target_status: str
    cases: int
    cases_open: int
    cases_overdue: int
    resolved_within_sla_pct: float | None
    recognitions: int
