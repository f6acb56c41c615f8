"""Sustain commands: `outcomes` (did an initiative work?) and `scorecard` (per unit, for incentives).

Thin: parse, call `cxchange.sustain.outcomes` / `cxchange.sustain.scorecard`, print.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cxchange.core.cli_support import DbOption, FormatOption, check_format, engine_from, parse_date
from cxchange.core.output import print_rows, to_json, write_csv


def outcomes_command(
    ctx: typer.Context,
    initiative: Annotated[str, typer.Argument(help="Initiative id or name.")],
    metric: Annotated[
        str,
        typer.Option("--metric", help="nps, csat, ces, rating, theme-share:THEME or theme-sentiment:THEME."),
    ] = "nps",
    before: Annotated[
        str, typer.Option("--before", help="Window before the start, e.g. 90d, 12w or all.")
    ] = "90d",
    after: Annotated[
        str, typer.Option("--after", help="Window from the start, e.g. 90d, 12w or all.")
    ] = "90d",
    level: Annotated[float, typer.Option("--level", help="Confidence level.")] = 0.95,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """Before/after, and difference-in-differences with pilot and control units; a plain verdict."""
    from cxchange.sustain.outcomes import outcomes

    check_format(fmt, ("table", "json"))
    out = outcomes(engine_from(ctx, db), initiative, metric=metric, before=before, after=after, level=level)
    if fmt == "json":
        typer.echo(to_json(out))
        return
    ini = out["initiative"]
    typer.echo(f"{ini['name']} (#{ini['id']}, start {ini['start']}) — {out['metric']}, {out['mode']}")
    groups = (
        [("pilot", out["pilot"]), ("control", out["control"])]
        if out["mode"] == "did"
        else [("units", out["scope"])]
    )
    print_rows(
        [
            {"group": {"group": g}, **{k: v[k] for k in ("before", "after", "n_before", "n_after", "units")}}
            for g, v in groups
        ],
        "table",
        title="before / after",
    )
    typer.echo(out["summary"])
    if out["mode"] == "did":
        pt = out["pretrend"]
        state = {True: "ok", False: "FAILED", None: "not testable"}[out["pretrend_ok"]]
        typer.echo(
            f"pre-trend check: {state} (slope difference {pt['slope_diff_per_month']} a month, "
            f"p = {pt['p_value']})"
        )
    for c in out["caveats"]:
        typer.echo(f"caveat: {c}")
    by_month: dict[str, dict[str, object]] = {}
    for r in out["series"]:
        row = by_month.setdefault(r["month"], {"month": r["month"]})
        row[r["group"]] = r["value"]
        row[f"{r['group']}_n"] = r["n"]
    print_rows(list(by_month.values()), "table", title="by month")
    typer.echo(f"method: {out['method']}")


def scorecard_command(
    ctx: typer.Context,
    period: Annotated[str, typer.Option("--period", help="quarter or month.")] = "quarter",
    by: Annotated[str, typer.Option("--by", help="org:LEVEL, e.g. org:region or org:store.")] = "org:store",
    metric: Annotated[str, typer.Option("--metric", help="nps, csat, ces or rating.")] = "nps",
    target: Annotated[
        float | None, typer.Option("--target", help="Met only when the interval says so.")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="YYYY-MM-DD (default: newest feedback).")
    ] = None,
    level: Annotated[float, typer.Option("--level", help="Confidence level.")] = 0.95,
    min_n: Annotated[int, typer.Option("--min-n", help="Units below this n are flagged small.")] = 30,
    fmt: FormatOption = "table",
    db: DbOption = None,
) -> None:
    """Per unit: score with interval, change vs the previous period, target met, cases, recognitions."""
    from cxchange.sustain.scorecard import scorecard

    check_format(fmt)
    rows = scorecard(
        engine_from(ctx, db),
        period=period,
        by=by,
        metric=metric,
        target=target,
        as_of=parse_date(as_of, "--as-of"),
        level=level,
        min_n=min_n,
    )
    if fmt == "csv":
        write_csv(rows, sys.stdout)
        return
    print_rows(rows, fmt, title=f"{metric} scorecard, {rows[0]['period'] if rows else ''}", dim_when="small")


def register_outcomes(app: typer.Typer) -> None:
    app.command("outcomes")(outcomes_command)
    app.command("scorecard")(scorecard_command)
