"""How an initiative's outcome is measured: the stored windows and the level at which pilot and control
were chosen (set once, changed with an audit entry), and which assignment cluster each unit belongs to.

Defaults (when nothing is stored): a year before the start (twelve months to check parallel trends with
some power), 90 days after, and clusters at the level of the pilot and control units as listed (whole
regions piloted -> clustered by region).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, TypedDict

from sqlalchemy import Engine, select

from cxchange.auth.service import audit
from cxchange.change.common import get_initiative, initiative_units, session_for
from cxchange.change.models import InitiativeUnit
from cxchange.core.errors import InputError
from cxchange.core.keywords import refuse_unknown
from cxchange.core.spans import parse_window
from cxchange.org.models import OrgUnit
from cxchange.org.tree import OrgTree, org_tree

DEFAULT_BEFORE = "365d"
DEFAULT_AFTER = "90d"
DEFAULT_LEVEL = 0.95


class OutcomeOptions(TypedDict, total=False):
    """How a reading of an initiative's outcome is asked for, declared once for `outcomes` and `outcomes
    plan` (so for their commands, routes and `cxchange.outcomes`): the `metric` (None: the store's
    default), the `before` and `after` windows and the `cluster` level (None: as stored on the
    initiative, else the defaults), and the intervals' `level` (default 0.95)."""

    metric: str | None
    before: str | int | None
    after: str | int | None
    cluster: str | None
    level: float


def unit_starts(session: Any, initiative_id: int) -> dict[str, date]:
    """Pilot unit code -> its own start (staggered rollouts); units without one start with the initiative."""
    rows = session.execute(
        select(OrgUnit.code, InitiativeUnit.start)
        .join(OrgUnit, OrgUnit.id == InitiativeUnit.unit_id)
        .where(
            InitiativeUnit.initiative_id == initiative_id,
            InitiativeUnit.role == "pilot",
            InitiativeUnit.start.is_not(None),
        )
    ).all()
    return {code: start for code, start in rows}


def stored_settings(engine: Engine, initiative: int | str) -> dict[str, Any]:
    """{before, after, cluster, starts} as used (stored values, else the defaults) and which were stored."""
    with session_for(engine) as s:
        ini = get_initiative(s, initiative)
        stored = {"before": ini.outcome_before, "after": ini.outcome_after, "cluster": ini.outcome_cluster}
        starts = unit_starts(s, ini.id)
    return {
        "before": stored["before"] or DEFAULT_BEFORE,
        "after": stored["after"] or DEFAULT_AFTER,
        "cluster": stored["cluster"],  # None: the level of the pilot/control units
        "starts": {code: d.isoformat() for code, d in sorted(starts.items())},
        "stored": [k for k, v in (*stored.items(), ("starts", starts)) if v],
    }


@dataclass(frozen=True)
class Design:
    """What a reading of an initiative's outcome starts from (`outcomes`, `outcomes plan`): the
    initiative, its unit codes by role, the pilot units' own starts, the org tree, `stored_settings`
    with the windows and cluster level it uses (as given, else as stored, else the defaults) and which
    of them were given (`overridden`), and the intervals' level. A given "" is a given (bad) window,
    refused where it is read, never taken for "not given"."""

    id: int
    name: str
    start: date | None
    units: dict[str, list[str]]
    starts: dict[str, date]
    tree: OrgTree
    settings: dict[str, Any]
    level: float


def load_design(engine: Engine, initiative: int | str, options: OutcomeOptions) -> Design:
    """The design `options` ask for (a keyword that is not an outcome option and a level outside (0, 1)
    are refused before the initiative is looked up)."""
    refuse_unknown(options, OutcomeOptions, "outcome")
    level = options.get("level", DEFAULT_LEVEL)
    if not 0 < level < 1:
        raise InputError(f"--level wants a number between 0 and 1, got {level}")
    before, after, cluster = options.get("before"), options.get("after"), options.get("cluster")
    stored = stored_settings(engine, initiative)
    settings = {
        **stored,
        "before": str(before) if before is not None else stored["before"],
        "after": str(after) if after is not None else stored["after"],
        "cluster": cluster if cluster is not None else stored["cluster"],
        "overridden": [k for k, v in (("before", before), ("after", after), ("cluster", cluster)) if v],
    }
    with session_for(engine) as s:
        ini = get_initiative(s, initiative)
        units = {role: [u.code for u in us] for role, us in initiative_units(s, ini.id).items()}
        starts, tree = unit_starts(s, ini.id), org_tree(s)
        return Design(ini.id, ini.name, ini.start, units, starts, tree, settings, level)


def _set_starts(session: Any, ini: Any, start_for: list[str]) -> dict[str, dict[str, str | None]]:
    """Apply UNIT=YYYY-MM-DD (or UNIT=default) to the initiative's pilot units; the changes made."""
    pilots = {
        code.lower(): (code, row)
        for code, row in session.execute(
            select(OrgUnit.code, InitiativeUnit)
            .join(OrgUnit, OrgUnit.id == InitiativeUnit.unit_id)
            .where(InitiativeUnit.initiative_id == ini.id, InitiativeUnit.role == "pilot")
        ).all()
    }
    changed: dict[str, dict[str, str | None]] = {}
    for item in start_for:
        code, sep, when = item.partition("=")
        code, when = code.strip(), when.strip()
        if not sep or not code or not when:
            raise InputError(f"--start-for wants UNIT=YYYY-MM-DD (or UNIT=default), got {item!r}")
        if code.lower() not in pilots:
            known = ", ".join(sorted(c for c, _r in pilots.values())) or "none"
            raise InputError(
                f"--start-for: {code!r} is not a pilot unit of the initiative (pilot units: {known})"
            )
        if when.lower() == "default":
            new = None
        else:
            try:
                new = date.fromisoformat(when)
            except ValueError:
                raise InputError(f"--start-for {code}: {when!r} is not a date (YYYY-MM-DD)") from None
            if ini.start is not None and new < ini.start:
                raise InputError(
                    f"--start-for {code}: {new} is before the initiative's start {ini.start}; the initiative "
                    "starts with its first wave (change it with `initiative update --start`)"
                )
        name, row = pilots[code.lower()]
        if row.start != new:
            changed[f"start:{name}"] = {
                "from": row.start.isoformat() if row.start else None,
                "to": new.isoformat() if new else None,
            }
            row.start = new
    return changed


# What `outcomes set` stores (None: unchanged, "default": cleared); the API's PUT body too, declared
# once (in a comment, not a docstring, which the OpenAPI document would carry).
@dataclass(frozen=True, kw_only=True)
class OutcomeSettingsChange:
    before: str | None = None  # a window: 180d, 26w, 6m
    after: str | None = None
    cluster: str | None = None  # an org level
    start_for: list[str] | None = None  # UNIT=YYYY-MM-DD: a pilot unit's own start


def set_settings(
    engine: Engine, initiative: int | str, change: OutcomeSettingsChange, actor: str = "cli"
) -> dict[str, Any]:
    """Store windows, the cluster level and/or pilot units' own starts; "default" clears one. Every
    change is audited."""
    before, after, cluster, start_for = change.before, change.after, change.cluster, change.start_for
    if before is None and after is None and cluster is None and not start_for:
        raise InputError("outcomes set needs --before, --after, --cluster or --start-for")
    new: dict[str, str | None] = {}
    for key, value, option in (("before", before, "--before"), ("after", after, "--after")):
        if value is not None:
            text = value.strip().lower()
            if text != "default":
                parse_window(text, option)  # validates
            new[key] = None if text == "default" else text
    with session_for(engine) as s, s.begin():
        ini = get_initiative(s, initiative)
        if cluster is not None:
            text = cluster.strip()
            if not text:
                raise InputError("--cluster wants an org level such as region or store, or default")
            if text.lower() != "default":
                org_tree(s).ancestor_map(text)  # raises naming the known levels
            new["cluster"] = None if text.lower() == "default" else text
        old = {"before": ini.outcome_before, "after": ini.outcome_after, "cluster": ini.outcome_cluster}
        changed: dict[str, Any] = {k: {"from": old[k], "to": v} for k, v in new.items() if old[k] != v}
        if start_for:
            changed.update(_set_starts(s, ini, start_for))
        ini.outcome_before = new.get("before", ini.outcome_before)
        ini.outcome_after = new.get("after", ini.outcome_after)
        ini.outcome_cluster = new.get("cluster", ini.outcome_cluster)
        ini_id, ini_name = ini.id, ini.name
    if changed:
        audit(engine, actor, "initiative.outcomes", f"{ini_id} {ini_name}", **changed)
    return {
        "initiative": {"id": ini_id, "name": ini_name},
        "changed": changed,
        **stored_settings(engine, ini_id),
    }


def _plural(level: str) -> str:
    """An org level's plural for sentences: cities, countries (a consonant before y), stores, regions."""
    if level.endswith("s"):
        return level
    if len(level) > 1 and level.endswith("y") and level[-2].lower() not in "aeiou":
        return f"{level[:-1]}ies"
    return f"{level}s"


def cluster_map(
    tree: OrgTree,
    pilot_codes: list[str],
    control_codes: list[str],
    unit_ids: set[int],
    level: str | None,
) -> tuple[dict[int, int], dict[int, str], str, str]:
    """unit id -> cluster number for every unit with data, cluster number -> name, the level's name and
    its plural for sentences. Default: each listed pilot/control unit is one cluster."""
    if level is None:
        listed = [tree.by_code(c) for c in [*pilot_codes, *control_codes]]
        names: dict[int, str] = {}
        for u in listed:
            for uid in tree.subtree_ids(u.code):
                names[uid] = u.code
        levels = {u.level for u in listed}
        shared = levels.pop() if len(levels) == 1 else None
        level_name = shared if shared is not None else "unit"
    else:
        ancestors = tree.ancestor_map(level)
        missing = sorted(tree.units[u].code for u in unit_ids if u not in ancestors)
        if missing:
            raise InputError(
                f"cluster level {level!r}: units {', '.join(missing[:5])} lie above that level; choose a "
                "higher level with `cxchange outcomes set ID --cluster LEVEL`"
            )
        names = {u: ancestors[u] for u in unit_ids}
        level_name = level
    order = {name: i for i, name in enumerate(sorted({names[u] for u in unit_ids}))}
    return (
        {u: order[names[u]] for u in unit_ids},
        {i: name for name, i in order.items()},
        level_name,
        _plural(level_name),
    )


def check_clusters(
    cluster_of: dict[int, int], cluster_names: dict[int, str], pilot_ids: set[int], level_name: str
) -> None:
    """Randomization over clusters needs each cluster wholly pilot or wholly control."""
    role: dict[int, set[bool]] = {}
    for uid, c in cluster_of.items():
        role.setdefault(c, set()).add(uid in pilot_ids)
    mixed = sorted(cluster_names[c] for c, r in role.items() if len(r) > 1)
    if mixed:
        raise InputError(
            f"{level_name} {', '.join(mixed)} holds both pilot and control units, so pilot and control "
            f"were not chosen by {level_name}; set the level they were chosen at with "
            "`cxchange outcomes set ID --cluster LEVEL`"
        )
