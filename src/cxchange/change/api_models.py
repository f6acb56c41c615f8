"""Response models of the change routes: frameworks, initiatives, their steps and risk."""

from __future__ import annotations

from datetime import date

from cxchange.core.api_models import OpenOut, Out, Timestamp

Day = date  # for a field named `date` with a default: its name would shadow the type in the class


class FrameworkRow(Out):
    key: str
    name: str
    steps: int
    origin: str  # shipped | user | file
    description: str


class FrameworkStep(Out):
    key: str
    title: str
    purpose: str
    checklist: list[str]
    artefacts: list[str]
    actions: list[str]
    guidance: str


class Framework(Out):
    key: str
    name: str
    description: str
    steps: list[FrameworkStep]
    origin: str
    file: str  # the name of the YAML file it was read from (over HTTP, without the server's directories)


class PersonRef(Out):
    email: str
    name: str
    role: str | None


class StepOut(Out):
    position: int
    key: str
    title: str
    status: str
    note: str | None
    updated_at: Timestamp | None
    purpose: str | None
    checklist: list[str]


class MetricRef(Out):
    id: int
    metric: str
    target: str
    by: date | None


class InitiativeDetail(Out):
    id: int
    name: str
    framework: str
    framework_name: str | None
    theme: str | None
    sponsor: PersonRef | None
    owner: PersonRef | None
    units: list[str]
    pilot_units: list[str]
    control_units: list[str]
    start: date
    end: date | None
    vision: str | None
    status: str
    steps: list[StepOut]
    metrics: list[MetricRef]


class InitiativeRow(Out):
    id: int
    name: str
    framework: str
    status: str
    sponsor: str | None  # e-mail
    owner: str | None
    start: date
    end: date | None
    steps_done: int
    steps_total: int
    units: str  # comma-separated unit codes


class StepSet(Out):
    initiative: int
    position: int
    key: str
    title: str
    status: str
    note: str | None


class RiskFactors(Out):
    size: dict[str, int]  # factor -> 1..5
    organisation: dict[str, int]


class RiskOut(Out):
    initiative: int
    size: float | None  # mean of the size factors
    organisation: float | None
    level: str  # low | medium | high | unassessed
    factors: RiskFactors


class ImpactScores(Out):
    """The ten aspects of change, each scored 0 (not affected) to 5."""

    processes: int
    systems: int
    tools: int
    job_roles: int
    critical_behaviours: int
    mindset: int
    reporting_structure: int
    performance_reviews: int
    compensation: int
    location: int
    impact: float | None  # mean of the aspects scored 1-5; None when nothing is affected
    aspects_affected: int


class ImpactRow(ImpactScores):
    unit: str
    note: str | None


class ImpactSet(ImpactScores):
    initiative: int
    unit: str


class HeatCell(Out):
    unit: str
    name: str
    month: str  # YYYY-MM
    load: float
    initiatives: str  # comma-separated names
    over: bool
    threshold: float


class CommOut(Out):
    id: int
    date: date  # planned on
    audience: str  # a unit code, or role:ROLE
    channel: str
    sender: str | None  # e-mail
    message: str
    sent_at: Timestamp | None
    overdue: bool


class AgentAdded(Out):
    initiative: int
    person: str  # e-mail
    name: str
    unit: str | None
    in_affected_units: bool


class AgentCoverage(Out):
    unit: str
    name: str
    employees: int
    agents: int
    needed: int
    agent_emails: list[str]
    manager: str | None
    no_agent: bool
    under_target: bool


class ManagerRow(Out):
    unit: str
    unit_name: str
    manager: str  # e-mail
    name: str
    role: str | None
    change_role: str | None  # "; "-joined roles in the initiative (agent, RACI letters…)
    involved: bool


class TrainingAdded(Out):
    id: int
    initiative: int
    title: str
    unit: str
    role: str | None
    date: date


class Attendance(Out):
    session: int
    recorded: int


class TrainingRow(Out):
    id: int
    title: str
    unit: str
    role: str | None
    date: date
    audience: int
    attended: int
    completion: float | None  # percent of the audience


class ResistanceOut(Out):
    id: int
    unit: str
    description: str
    cause: str
    owner: str  # e-mail
    status: str
    resolution: str | None
    created_at: Timestamp
    addressed_at: Timestamp | None
    readiness_group: str | None
    barrier_share: float | None
    top_barrier: str | None
    actions: list[str]


class RaciRow(OpenOut):
    """One activity, then one key per person (their e-mail) holding their letter, "" for none: the
    people are the initiative's, so those keys are open."""

    activity: str


class RaciCell(Out):
    initiative: int
    activity: str
    person: str  # e-mail
    letter: str | None  # None: the cell was cleared


class RaciImported(Out):
    initiative: int
    activities: int
    people: int
    assignments: int


class RaciFinding(Out):
    activity: str | None
    person: str | None
    level: str  # error | warning
    rule: str
    message: str


class ReadinessImported(Out):
    initiative: int
    assessment: int
    date: date
    respondents: int
    units_outside_initiative: list[str]


class ReadinessGroup(Out):
    group: str  # unit code
    name: str
    n: int
    means: dict[str, float | None]  # ADKAR element -> mean 1-5 (None: suppressed)
    barrier_shares: dict[str, float | None]  # element (or "none") -> share whose first barrier it is
    top_barrier: str | None
    top_barriers: list[str]  # more than one: a tie
    tie: bool
    actions: list[str]
    merged: list[str]  # small units reported within this group
    suppressed: bool
    assessment: int
    date: date


class ReadinessPoint(Out):
    assessment: int
    date: date
    n: int
    means: dict[str, float | None]
    change: dict[str, float | None]  # since the previous assessment
    barrier_shares: dict[str, float | None]
    top_barrier: str | None
    top_barriers: list[str]
    tie: bool
    suppressed: bool


class MeasureValue(Out):
    value: float | None
    n: int
    mentions: int | None = None  # theme-share measures only (the route leaves unset keys out)
    ci_low: float | None
    ci_high: float | None
    since: date | None
    until: date | None


class Measure(Out):
    units: list[str]
    baseline: MeasureValue
    now: MeasureValue
    change: float | None
    target_value: float | None
    met: bool | None
    met_confidently: bool | None
    status: str  # met | not yet | missed | no data


class MetricOut(Measure):
    """A success measure for the initiative's scope, and for its pilot and control units."""

    id: int
    metric: str
    target: str
    by: date | None
    direction: str
    pilot: Measure | None
    control: Measure | None
    pilot_minus_control: float | None = None  # with both pilot and control only


class CurrentStep(Out):
    key: str
    title: str
    status: str


class ReadinessOverall(Out):
    assessment: int | None
    n: int
    # The rest is absent before the first assessment (the route leaves unset keys out).
    date: Day | None = None
    means: dict[str, float | None] | None = None
    barrier_shares: dict[str, float | None] | None = None
    top_barrier: str | None = None
    top_barriers: list[str] | None = None
    tie: bool | None = None


class CoverageSummary(Out):
    per: int  # employees per change agent aimed for
    agents: int
    employees: int
    units: int
    units_with_agent: int
    share_units_covered: float | None
    units_without_agent: list[str]
    units_under_target: list[str]


class TrainingSummary(Out):
    audience: int
    trained: int
    completion: float | None


class RiskProfile(Out):
    size: float | None
    organisation: float | None
    level: str
    factors: RiskFactors


class InitiativeStatus(Out):
    id: int
    name: str
    framework: str
    steps_done: int
    steps_total: int
    current_step: CurrentStep | None
    metrics: list[MetricOut]
    raci_errors: int
    raci_warnings: int
    readiness: ReadinessOverall
    comms_overdue: int
    comms_overdue_items: list[CommOut]
    agents_coverage: CoverageSummary
    training_completion: TrainingSummary
    resistance_open: int
    risk: RiskProfile
    as_of: date
