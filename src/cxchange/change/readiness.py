"""Readiness: ADKAR assessments by team, barrier points, small-group protection and trends.

A respondent's barrier point is the first element, in A-D-K-A-R order, scored 3 or less (Prosci's
rule: change is sequential, so the first gap blocks the rest, whatever comes later). Groups with
fewer than `min_n` respondents are merged into their parent unit (repeatedly, up the org tree), so no
individual's answers can be read off a report.

A group's top barrier is the element most of its respondents are stuck at. When several elements
share that count the group has no single top barrier: every report says so (`top_barriers` lists
them in A-D-K-A-R order and `tie` is true; `top_barrier`, the first of them, stays for existing
readers), the tables say "tie: awareness, desire", and the suggested actions cover each of them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, func, select

from cxchange.change.common import (
    as_date,
    get_initiative,
    initiative_units,
    parse_csv_text,
    read_csv_rows,
    session_for,
)
from cxchange.change.frameworks import adkar_actions
from cxchange.change.models import ADKAR, ReadinessResponse
from cxchange.core.errors import InputError, NotFoundError
from cxchange.listen.surveys.service import create_survey, pulse_assessments, pulse_scores
from cxchange.org.tree import Unit, covered_unit_ids, org_tree, person_by_email, unit_by_code

if TYPE_CHECKING:
    from cxchange.listen.surveys.spec import SurveySpec

BARRIER_AT_OR_BELOW = 3
MIN_N = 5


def barrier_point(scores: Sequence[int], threshold: int = BARRIER_AT_OR_BELOW) -> str | None:
    """The first ADKAR element scoring `threshold` or less; None when every element is above it."""
    for element, value in zip(ADKAR, scores, strict=True):
        if value <= threshold:
            return element
    return None


def top_barriers(scores: Sequence[Sequence[int]]) -> list[str]:
    """Every element that is the barrier point of the most respondents, in A-D-K-A-R order (more than
    one: a tie); ["none"] when nobody has a barrier; [] for no respondents."""
    barriers = Counter(barrier_point(s) for s in scores)
    real = {e: barriers[e] for e in ADKAR if barriers.get(e)}
    if not real:
        return ["none"] if scores else []
    most = max(real.values())
    return [e for e in ADKAR if real.get(e) == most]


def barrier_label(row: Mapping[str, Any]) -> str | None:
    """The top barrier as the tables show it: "desire", or "tie: awareness, desire"."""
    tops = row.get("top_barriers") or []
    return f"tie: {', '.join(tops)}" if len(tops) > 1 else row.get("top_barrier")


def _ties(tops: list[str]) -> dict[str, Any]:
    return {"top_barriers": tops, "tie": len(tops) > 1}


@dataclass
class GroupStats:
    group: int
    n: int
    means: dict[str, float | None]
    barrier_shares: dict[str, float | None]
    top_barrier: str | None
    merged: list[int] = field(default_factory=list)
    suppressed: bool = False
    top_barriers: list[str] = field(default_factory=list)  # more than one: a tie


def merge_small_groups(
    counts: Mapping[int, int], parent: Mapping[int, int | None], min_n: int
) -> dict[int, int]:
    """group -> the group it is reported in: a group under `min_n` joins its parent, deepest first,
    until every reported group has at least `min_n` or has no parent left."""

    def depth(g: int) -> int:
        d, seen = 0, {g}
        while parent.get(g) is not None and parent[g] not in seen:
            g = parent[g]  # type: ignore[assignment]
            seen.add(g)
            d += 1
        return d

    n = dict(counts)
    target: dict[int, int] = {}
    nodes = set(n)
    for g in list(nodes):  # every ancestor can receive respondents
        p = parent.get(g)
        while p is not None and p not in nodes:
            nodes.add(p)
            p = parent.get(p)
    for g in sorted(nodes, key=lambda g: (-depth(g), g)):
        k = n.get(g, 0)
        p = parent.get(g)
        if 0 < k < min_n and p is not None:
            n[p] = n.get(p, 0) + k
            n[g] = 0
            target[g] = p
    out: dict[int, int] = {}
    for g in counts:
        t = g
        while t in target:
            t = target[t]
        out[g] = t
    return out


def summarise(
    scores: Sequence[Sequence[int]],
) -> tuple[dict[str, float | None], dict[str, float | None], str | None]:
    """(means per element, share of respondents per barrier incl. "none", most common barrier: the
    first in A-D-K-A-R order when several tie; `top_barriers` lists them all)."""
    n = len(scores)
    if n == 0:
        return {e: None for e in ADKAR}, {e: None for e in (*ADKAR, "none")}, None
    means: dict[str, float | None] = {e: round(sum(s[i] for s in scores) / n, 2) for i, e in enumerate(ADKAR)}
    barriers = Counter(barrier_point(s) or "none" for s in scores)
    shares: dict[str, float | None] = {e: round(barriers.get(e, 0) / n, 3) for e in (*ADKAR, "none")}
    return means, shares, top_barriers(scores)[0]


def aggregate(
    responses: Sequence[tuple[int, Sequence[int]]],
    group_of: Mapping[int, int],
    parent: Mapping[int, int | None],
    min_n: int = MIN_N,
) -> list[GroupStats]:
    """Responses (unit id, five scores) -> stats per reported group, small groups merged upward.
    A group still under `min_n` at the top of the tree is reported with its n only (suppressed)."""
    by_group: dict[int, list[Sequence[int]]] = {}
    for unit, scores in responses:
        by_group.setdefault(group_of.get(unit, unit), []).append(scores)
    into = merge_small_groups({g: len(v) for g, v in by_group.items()}, parent, min_n)
    final: dict[int, list[Sequence[int]]] = {}
    merged: dict[int, list[int]] = {}
    for g, rows in by_group.items():
        final.setdefault(into[g], []).extend(rows)
        if into[g] != g:
            merged.setdefault(into[g], []).append(g)
    out = []
    for g, rows in final.items():
        means, shares, top = summarise(rows)
        tops = top_barriers(rows)
        suppressed = len(rows) < min_n
        if suppressed:
            means, shares, top = {e: None for e in ADKAR}, {e: None for e in (*ADKAR, "none")}, None
            tops = []
        out.append(GroupStats(g, len(rows), means, shares, top, sorted(merged.get(g, [])), suppressed, tops))
    return out


# --- service -------------------------------------------------------------------------------------


def _score(value: Any, file: str, row: int, column: str) -> int:
    text = str(value if value is not None else "").strip()
    if not text:
        raise InputError("the score is missing", file=file, row=row, column=column)
    try:
        f = float(text)
    except ValueError:
        raise InputError(f"{text!r} is not a score from 1 to 5", file=file, row=row, column=column) from None
    if f != int(f) or not 1 <= f <= 5:
        raise InputError(
            f"{text!r} is out of range: scores are whole numbers 1 to 5", file=file, row=row, column=column
        )
    return int(f)


def import_file(
    engine: Engine,
    initiative: int | str,
    path: str,
    *,
    assessed_on: date | str | None = None,
    text: str | None = None,
) -> dict[str, Any]:
    """One assessment from a file: `unit`, optional `person`, and the five elements scored 1–5."""
    required = ("unit", *ADKAR)
    _, rows = parse_csv_text(text, path, required) if text is not None else read_csv_rows(path, required)
    if not rows:
        raise InputError("no respondents in the file", file=path)
    when = as_date(assessed_on, "--date") or date.today()
    with session_for(engine) as s, s.begin():
        ini = get_initiative(s, initiative)
        number = _latest(s, ini.id) + 1
        units: dict[str, int] = {}
        people: dict[str, int] = {}
        new = []
        for r in rows:
            row = r["__row"]
            code = r.get("unit", "")
            if code not in units:
                try:
                    units[code] = unit_by_code(s, code).id
                except (NotFoundError, InputError) as exc:
                    raise InputError(str(exc), file=path, row=row, column="unit") from None
            person_id = None
            email = (r.get("person") or "").strip()
            if email:
                if email not in people:
                    try:
                        people[email] = person_by_email(s, email).id
                    except NotFoundError as exc:
                        raise InputError(str(exc), file=path, row=row, column="person") from None
                person_id = people[email]
            scores = {e: _score(r.get(e), path, row, e) for e in ADKAR}
            new.append(
                ReadinessResponse(
                    initiative_id=ini.id,
                    assessment=number,
                    assessed_on=when,
                    unit_id=units[code],
                    person_id=person_id,
                    **scores,
                )
            )
        s.add_all(new)
        outside = _outside_units(s, ini.id, set(units.values()))
    return {
        "initiative": ini.id,
        "assessment": number,
        "date": when,
        "respondents": len(new),
        "units_outside_initiative": outside,
    }


def _outside_units(s: Any, initiative_id: int, unit_ids: set[int]) -> list[str]:
    """Respondents' units that are not in or beneath the initiative's units (worth a second look)."""
    tree = org_tree(s)
    codes = [u.code for us in initiative_units(s, initiative_id).values() for u in us]
    inside = covered_unit_ids(tree, codes)
    return sorted(tree.units[u].code for u in unit_ids if u not in inside)


@dataclass(frozen=True)
class PulseRow:
    """One answer to an ADKAR pulse survey (listen/surveys), read like a ReadinessResponse: no person."""

    unit_id: int
    assessed_on: date
    awareness: int
    desire: int
    knowledge: int
    ability: int
    reinforcement: int


def _latest(s: Any, initiative_id: int, *, answered: bool = False) -> int:
    """The highest assessment number of the initiative, from files or pulse surveys (0: none yet);
    `answered`: only pulses with an answer (a pulse just sent out does not hide the last assessment)."""
    q = select(func.max(ReadinessResponse.assessment)).where(ReadinessResponse.initiative_id == initiative_id)
    return max([s.scalar(q) or 0, *pulse_assessments(s.get_bind(), initiative_id, answered=answered)])


def reserve_pulse_assessment(
    engine: Engine, kind: str, initiative: int | str | None
) -> tuple[int | None, int | None]:
    """(initiative id, the assessment number its answers will form) for a new survey of `kind`: (None,
    None) without an initiative; with one, the survey must be an ADKAR pulse (refused before the
    initiative is looked up)."""
    if initiative is None or initiative == "":
        return None, None
    if kind != "adkar":
        raise InputError("--initiative is for --kind adkar (an employee pulse on a change)")
    with session_for(engine) as s:
        ini = get_initiative(s, initiative)
        return ini.id, _latest(s, ini.id) + 1


def create_survey_or_pulse(
    engine: Engine,
    spec: SurveySpec,
    initiative: int | str | None = None,
    *,
    definition_file: str | Path | None = None,
) -> dict[str, Any]:
    """The one create path of `survey create`, the API and the Surveys page: the survey `spec` defines,
    an ADKAR pulse on `initiative` (id or name) when one is given, its answers reserved as the
    initiative's next assessment. `definition_file`: the CLI's own question YAML (a local path)."""
    initiative_id, assessment = reserve_pulse_assessment(engine, spec.kind, initiative)
    return create_survey(
        engine, spec, initiative_id=initiative_id, assessment=assessment, definition_file=definition_file
    )


def _pulse_rows(engine: Engine, initiative_id: int, assessment: int) -> list[PulseRow]:
    return [
        PulseRow(unit, when.date(), *scores)
        for unit, scores, when in pulse_scores(engine, initiative_id, assessment)
        if unit is not None
    ]


def _responses(
    s: Any, initiative_id: int, assessment: int | None
) -> tuple[int | None, date | None, list[Any]]:
    latest = _latest(s, initiative_id, answered=True) or None
    if latest is None:
        return None, None, []
    number = latest if assessment is None else assessment
    if number in pulse_assessments(s.get_bind(), initiative_id):
        # A pulse survey's answers, dated by the first one (the pulse is one assessment).
        pulse = sorted(_pulse_rows(s.get_bind(), initiative_id, number), key=lambda r: r.assessed_on)
        return number, (pulse[0].assessed_on if pulse else None), pulse
    rows = list(
        s.scalars(
            select(ReadinessResponse).where(
                ReadinessResponse.initiative_id == initiative_id, ReadinessResponse.assessment == number
            )
        )
    )
    if not rows:
        raise NotFoundError(f"no readiness assessment {number} (the latest is {latest})")
    return number, rows[0].assessed_on, rows


def _scores(r: ReadinessResponse) -> tuple[int, ...]:
    return tuple(getattr(r, e) for e in ADKAR)


def _pulse_numbers(engine: Engine, initiative_id: int) -> list[int]:
    return pulse_assessments(engine, initiative_id, answered=True)


@dataclass(frozen=True)
class _Numbered:
    assessment: int
    row: PulseRow

    def __getattr__(self, name: str) -> Any:
        return getattr(self.row, name)


def _numbered(row: PulseRow, number: int) -> Any:
    return _Numbered(number, row)


def report(
    engine: Engine,
    initiative: int | str,
    *,
    by: str = "unit",
    min_n: int = MIN_N,
    assessment: int | None = None,
) -> list[dict[str, Any]]:
    """Per group: n, mean per element, barrier shares, the most common barrier and what to do about it."""
    if min_n < 1:
        raise InputError("--min-n must be at least 1")
    with session_for(engine) as s:
        ini = get_initiative(s, initiative)
        number, when, rows = _responses(s, ini.id, assessment)
        tree = org_tree(s)
        doc = ini.framework_doc
    if not rows:
        return []
    parent = {u.id: u.parent_id for u in tree.units.values()}
    if by == "unit":
        group_of = {u: u for u in tree.units}
    elif by.startswith("org:") and len(by) > 4:
        level = by[4:]
        match = {
            u.id
            for u in tree.units.values()
            if (u.level or "").lower() == level.lower() or str(u.depth) == level
        }
        if not match:
            known = sorted({u.level for u in tree.units.values() if u.level})
            raise InputError(f"no org level {level!r}; known levels: {', '.join(known)} (or a depth)")
        group_of = {}
        for u in tree.units.values():
            cur: Unit | None = u
            while cur is not None and cur.id not in match:
                cur = tree.units.get(cur.parent_id) if cur.parent_id is not None else None
            group_of[u.id] = cur.id if cur is not None else u.id
    else:
        raise InputError(f"--by wants unit or org:LEVEL, got {by!r}")
    stats = aggregate([(r.unit_id, _scores(r)) for r in rows], group_of, parent, min_n)
    out = []
    for g in sorted(stats, key=lambda g: tree.units[g.group].path):
        unit = tree.units[g.group]
        out.append(
            {
                "group": unit.code,
                "name": unit.name,
                "n": g.n,
                "means": g.means,
                "barrier_shares": g.barrier_shares,
                "top_barrier": g.top_barrier,
                **_ties(g.top_barriers),
                "actions": [a for e in g.top_barriers for a in adkar_actions(doc, e)],
                "merged": [tree.units[m].code for m in g.merged],
                "suppressed": g.suppressed,
                "assessment": number,
                "date": when,
            }
        )
    return out


def overall(engine: Engine, initiative_id: int, min_n: int = MIN_N) -> dict[str, Any]:
    """The latest assessment in one group (for `initiative status`)."""
    with session_for(engine) as s:
        number, when, rows = _responses(s, initiative_id, None)
    if not rows:
        return {"assessment": None, "n": 0}
    means, shares, top = summarise([_scores(r) for r in rows])
    tops = top_barriers([_scores(r) for r in rows])
    if len(rows) < min_n:
        means, shares, top = {e: None for e in ADKAR}, {e: None for e in (*ADKAR, "none")}, None
        tops = []
    return {
        "assessment": number,
        "date": when,
        "n": len(rows),
        "means": means,
        "barrier_shares": shares,
        "top_barrier": top,
        **_ties(tops),
    }


def trend(
    engine: Engine, initiative: int | str, *, unit: str | None = None, min_n: int = MIN_N
) -> list[dict[str, Any]]:
    """One row per assessment: n, mean per element and the change since the previous assessment.
    An assessment with fewer than `min_n` respondents (in `unit`) shows its n only."""
    with session_for(engine) as s:
        ini = get_initiative(s, initiative)
        stmt = select(ReadinessResponse).where(ReadinessResponse.initiative_id == ini.id)
        if unit:
            tree = org_tree(s)
            stmt = stmt.where(ReadinessResponse.unit_id.in_(sorted(tree.subtree_ids(unit))))
        rows: list[Any] = list(s.scalars(stmt.order_by(ReadinessResponse.assessment)))
        wanted = tree.subtree_ids(unit) if unit else None
        for number in _pulse_numbers(engine, ini.id):
            rows += [
                _numbered(r, number)
                for r in _pulse_rows(engine, ini.id, number)
                if wanted is None or r.unit_id in wanted
            ]
    by_assessment: dict[int, list[Any]] = {}
    for r in rows:
        by_assessment.setdefault(r.assessment, []).append(r)
    out: list[dict[str, Any]] = []
    prev: dict[str, float | None] | None = None
    for number, rs in sorted(by_assessment.items()):
        means, shares, top = summarise([_scores(r) for r in rs])
        tops = top_barriers([_scores(r) for r in rs])
        suppressed = len(rs) < min_n
        if suppressed:
            means, shares, top = {e: None for e in ADKAR}, {e: None for e in (*ADKAR, "none")}, None
            tops = []
        change = {e: _step(means[e], prev[e] if prev else None) for e in ADKAR}
        out.append(
            {
                "assessment": number,
                "date": rs[0].assessed_on,
                "n": len(rs),
                "means": means,
                "change": change,
                "barrier_shares": shares,
                "top_barrier": top,
                **_ties(tops),
                "suppressed": suppressed,
            }
        )
        prev = means
    return out


def _step(now: float | None, before: float | None) -> float | None:
    """The change in a mean from one assessment to the next (None when either is missing)."""
    return round(now - before, 2) if now is not None and before is not None else None
