"""Key drivers of stored feedback: the one path from `--from themes|theme-sentiment|attrs:A,B` to the
driver table, shared by `cxchange drivers`, `GET /api/drivers` and the Python API, so they agree."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Engine

from cxchange.core.errors import InputError
from cxchange.core.period import Period
from cxchange.decide.drivers import (
    driver_table,
    expand_categories,
    frame_from_store,
    missing_note,
    sign_notes,
)
from cxchange.measure.rating_scope import check_rating_scope
from cxchange.measure.service import ScoreQuery, in_default_metric


def stored_drivers(
    engine: Engine,
    *,
    target: str | None = None,
    source: str = "themes",
    where: Sequence[str] = (),
    since: date | None = None,
    until: date | None = None,
    method: str = "shapley",
    boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Any]:
    """The driver table of `target` over stored feedback, with `notes` on what was left out and why.

    `source` is `themes` (0/1 mention of each present theme), `theme-sentiment`, or `attrs:A,B,C`
    (attributes stored with each answer). No `target`: the scope's own score (NPS when it has NPS
    answers, else its most-answered metric), as themes, simulate and outcomes choose; fixed on NPS, a
    store of hotel star ratings got "no analysed comment with a nps value" from /api/drivers."""
    if not 0 < level < 1:
        raise InputError(f"--level must be between 0 and 1, got {level}")
    kind, _, names = source.partition(":")
    period = Period(since, until)
    if not target:
        target = in_default_metric(engine, ScoreQuery(metric="", where=tuple(where), period=period)).metric
    if target.strip().lower() == "rating":  # one share of R² over 1-5 and 1-10 answers means nothing
        check_rating_scope(engine, where, period)
    if kind in ("themes", "theme-sentiment") and not names:
        from cxchange.decide.data import theme_driver_frame

        frame, chosen, performance, notes = theme_driver_frame(
            engine, target=target, kind=kind, where=tuple(where), period=period
        )
        table = driver_table(
            frame, target, chosen, method=method, n_boot=boot, seed=seed, level=level,
            performance=performance,
        )  # fmt: skip
        return {**table, "notes": [*notes, *sign_notes(table)]}
    if kind != "attrs" or not names:
        raise InputError(f"unknown --from {source!r}; use themes, theme-sentiment or attrs:A,B,C")
    attrs = [a.strip() for a in names.split(",") if a.strip()]
    frame = frame_from_store(engine, target=target, attrs=attrs, where=tuple(where), period=period)
    frame, predictors, notes = expand_categories(frame, attrs)
    table = driver_table(frame, target, predictors, method=method, n_boot=boot, seed=seed, level=level)
    note = missing_note(frame, target, predictors, table["n"])
    notes += ([note] if note else []) + sign_notes(table)
    return {**table, "notes": notes}
