"""Response models of the change routes: frameworks, initiatives, their steps and risk."""

from __future__ import annotations

from datetime import date

from cxchange.core.api_models import Out, Timestamp


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
