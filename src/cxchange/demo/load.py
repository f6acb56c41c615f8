"""Put the generated demo company in a database, through the same import pipeline as a real export."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from datetime import time as clock_time
from typing import Any

from sqlalchemy import Engine, func, select

from cxchange.change.service import create
from cxchange.demo.company import DEMO_END
from cxchange.demo.generator import DemoCompany, generate
from cxchange.demo.truth import TRUTH
from cxchange.listen.mapping import FIELDS
from cxchange.listen.models import Feedback
from cxchange.listen.service import ImportOptions, import_frame
from cxchange.org.tree import import_org_rows
from cxchange.understand.themes.taxonomy import taxonomy_version


def database_is_empty(engine: Engine) -> bool:
    with engine.connect() as conn:
        return not conn.execute(select(func.count()).select_from(Feedback)).scalar()


def load_demo(
    engine: Engine, company: DemoCompany, *, analyse: bool = True, initiative: bool = True
) -> dict[str, Any]:
    """Org, people and feedback through the import pipeline; then, unless told not to, the shipped
    CX taxonomy and an analysis run, so the app opens with themes and sentiment in place, and the
    planted pilot as an initiative. The loop is closed as of the morning after the demo's last day
    (`demo_clock`): its last two weeks open cases, whatever today's date."""
    started = time.perf_counter()
    org = import_org_rows(engine, company.units.to_dicts(), company.people.to_dicts())
    batches = []
    for src in company.sources:
        mapping = tuple(f"{f}={f}" for f in FIELDS if f in src.frame.columns)
        result = import_frame(
            engine,
            src.frame,
            ImportOptions(source=src.name, kind=src.kind, map_options=mapping, loop_now=demo_clock()),
            name=f"demo:{src.name}",
        )
        batches.append(result.as_dict())
    analysis = None
    if analyse:
        from cxchange.understand.analyze import analyze
        from cxchange.understand.cli_taxonomy import builtin_taxonomy
        from cxchange.understand.themes.taxonomy import import_yaml, taxonomy_version

        if taxonomy_version(engine) == 0:
            import_yaml(engine, builtin_taxonomy("cx_default"))
        analysis = analyze(engine, backend="fast")
    initiative_id = _pilot_initiative(engine, company) if initiative else None
    return {
        "units": org["units"],
        "people": org["people"],
        "batches": batches,
        "analysis": analysis,
        "initiative": initiative_id,
        "seconds": round(time.perf_counter() - started, 2),
    }


def demo_clock() -> datetime:
    """'Now' for the demo company: 09:00 the day after its last feedback (the data ends on a fixed
    date, so a clock that moved on with today would find only history and open no cases)."""
    return datetime.combine(DEMO_END + timedelta(days=1), clock_time(9))


DEMO_INITIATIVE = "Queue-busting pilot"


def _pilot_initiative(engine: Engine, company: DemoCompany) -> int | None:
    """The planted pilot as an initiative (pilot and control units, start date), so the change and
    sustain pages open on a real story: its outcome should come out "improved"."""
    pilot = TRUTH["pilot"]
    people = company.people
    sponsor = people.filter(people["role"] == "exec")["email"][0]
    owner = people.filter(people["unit"] == pilot["pilot_unit"])["email"][0]
    done = create(
        engine,
        name=DEMO_INITIATIVE,
        framework="kotter",
        sponsor=sponsor,
        owner=owner,
        units=[pilot["pilot_unit"], pilot["control_unit"]],
        pilot_units=pilot["pilot_unit"],
        control_units=pilot["control_unit"],
        start=pilot["start"],
        vision="Nobody waits more than five minutes: queue-busting staff at peak hours in the North.",
        theme="Waiting time" if analyse_ready(engine) else None,
        allow_file=False,
    )
    return int(done["id"])


def analyse_ready(engine: Engine) -> bool:
    return taxonomy_version(engine) > 0


def create_demo(
    engine: Engine, rows: int = 20_000, seed: int = 42, *, analyse: bool = True
) -> dict[str, Any]:
    return load_demo(engine, generate(rows=rows, seed=seed), analyse=analyse)
