"""cxchange as a Python library: the same services the CLI, the API and the web pages call, with the
CLI's options as keyword arguments and its JSON as plain dicts and lists.

    import cxchange

    db = cxchange.connect("sqlite:///cx.db")          # creates or upgrades the schema
    cxchange.import_file(db, "survey.csv", source="Survey", map={"org_unit": "Store"})
    cxchange.scores(db, metric="nps", by=["month", "org:1"])
    cxchange.analyze(db)
    cxchange.drivers(db, target="nps", source="themes")
    cxchange.simulate(db, fix=["Waiting time=0.5"])
    cxchange.outcomes(db, "Queue pilot")

Errors are `cxchange.CxError` (its message is the line the CLI would print), never a traceback of
an internal. Nothing here adds behaviour: each function is the CLI command without its printing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import Engine

from cxchange.core.db import get_engine
from cxchange.core.period import Period
from cxchange.decide.key_drivers import stored_drivers
from cxchange.decide.service import Scope
from cxchange.decide.service import simulate as run_simulate
from cxchange.listen.service import ImportOptions
from cxchange.listen.service import dry_run as run_dry
from cxchange.listen.service import import_file as run_import
from cxchange.measure.service import scores_of
from cxchange.sustain.outcomes import outcomes as run_outcomes
from cxchange.understand.analyze import analyze as run_analyze

Filters = Sequence[str] | Mapping[str, str]
P = ParamSpec("P")
R = TypeVar("R")


def _where(where: Filters | None) -> tuple[str, ...]:
    """`["unit=R-NORTH"]` or `{"unit": "R-NORTH"}`: both are the CLI's `--where FIELD=VALUE`."""
    if where is None:
        return ()
    if isinstance(where, Mapping):
        return tuple(f"{field}={value}" for field, value in where.items())
    return tuple(where)


def connect(url: str | None = None) -> Engine:
    """The database at `url` (default: CXCHANGE_DATABASE_URL, else ./cxchange.db), schema up to date."""
    return get_engine(url)


def import_file(
    db: Engine,
    path: str | Path,
    *,
    source: str,
    kind: str | None = None,
    map: Mapping[str, str] | None = None,  # the CLI's --map
    rating_scale: int | None = None,
    date_format: str | None = None,
    allow_mixed_scales: bool = False,
    redact: bool = True,
    file_format: str | None = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """`cxchange import`: the import's JSON report (or the dry run's with `dry_run=True`)."""
    pairs = [f"{field}={column}" for field, column in (map or {}).items()]  # the CLI's --map FIELD=COLUMN
    options = ImportOptions.of(
        source, kind, pairs, rating_scale, date_format, allow_mixed_scales, redact, file_format
    )
    if dry_run:
        return run_dry(db, path, options).as_dict()
    return run_import(db, path, options).as_dict()


def simulate(
    db: Engine,
    *,
    fix: Sequence[str] = (),
    move: Sequence[str] = (),
    where: Filters | None = None,
    since: date | None = None,
    until: date | None = None,
    draws: int = 1000,
    seed: int = 0,
    metric: str | None = None,
) -> dict[str, Any]:
    """`cxchange simulate`: the projected score (`metric`: nps, csat, ces or rating; None: NPS when
    the scope has NPS answers, else its most-answered metric) if themes were fixed (`"THEME=SHARE"`)
    or levers (NPS) moved."""
    scope = Scope(where=_where(where), period=Period(since, until))
    return run_simulate(db, list(fix), moves=list(move), scope=scope, draws=draws, seed=seed, metric=metric)


def _library(service: Callable[P, R], doc: str) -> Callable[P, R]:
    """The service itself, documented as the library's (`doc`), its `where` also taken as a mapping
    or None: the library adds no behaviour and does not write the service's options again."""

    @functools.wraps(service)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        if "where" in kwargs:
            kwargs["where"] = _where(kwargs["where"])  # type: ignore[arg-type]
        return service(*args, **kwargs)

    call.__doc__ = doc
    return call


analyze = _library(
    run_analyze, "`cxchange analyze`: sentiment and themes for every comment not analysed yet."
)
drivers = _library(
    stored_drivers, "`cxchange drivers --from SOURCE`: each driver's share of R² with intervals, and notes."
)
scores = _library(scores_of, "`cxchange scores`: one row per group with the score, its interval and n.")
outcomes = _library(
    run_outcomes, "`cxchange outcomes`: pilot vs control (or before/after) and the one verdict the app shows."
)
