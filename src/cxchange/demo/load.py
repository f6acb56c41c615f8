"""Put the generated demo company in a database, through the same import pipeline as a real export."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, func, select

from cxchange.demo.generate import DemoCompany, generate
from cxchange.listen.mapping import FIELDS
from cxchange.listen.models import Feedback
from cxchange.listen.org import import_org_rows
from cxchange.listen.service import ImportOptions, import_frame


def database_is_empty(engine: Engine) -> bool:
    with engine.connect() as conn:
        return not conn.execute(select(func.count()).select_from(Feedback)).scalar()


def load_demo(engine: Engine, company: DemoCompany, *, analyse: bool = True) -> dict[str, Any]:
    """Org, people and feedback through the import pipeline; then, unless told not to, the shipped
    CX taxonomy and an analysis run, so the app opens with themes and sentiment in place."""
    started = time.perf_counter()
    org = import_org_rows(engine, company.units.to_dicts(), company.people.to_dicts())
    batches = []
    for src in company.sources:
        mapping = tuple(f"{f}={f}" for f in FIELDS if f in src.frame.columns)
        result = import_frame(
            engine,
            src.frame,
            ImportOptions(source=src.name, kind=src.kind, map_options=mapping),
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
    return {
        "units": org["units"],
        "people": org["people"],
        "batches": batches,
        "analysis": analysis,
        "seconds": round(time.perf_counter() - started, 2),
    }


def create_demo(
    engine: Engine, rows: int = 20_000, seed: int = 42, *, analyse: bool = True
) -> dict[str, Any]:
    return load_demo(engine, generate(rows=rows, seed=seed), analyse=analyse)
