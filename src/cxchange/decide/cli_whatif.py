"""`cxchange simulate` and `cxchange opportunities`: what fixing a theme is worth."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from cxchange.core import cli_options as opt
from cxchange.core.cli_support import engine_from, scope_options
from cxchange.core.output import print_rows, to_json
from cxchange.core.period import Period
from cxchange.measure.scale import METRIC_HELP


def _scope(where: list[str] | None, since: date | None, until: date | None, source: str | None = None):  # type: ignore[no-untyped-def]
    from cxchange.decide.service import Scope

    return Scope(where=tuple(where or ()), source=source, period=Period(since, until))


def simulate_command(
    ctx: typer.Context,
    fix: Annotated[
        list[str] | None,
        typer.Option(help="THEME[=SHARE]: fix it for SHARE (default 0.5) of complainers."),
    ] = None,
    move: Annotated[
        list[str] | None,
        typer.Option(help="detractors-to-passives=0.1, detractors-to-promoters=…, passives-to-promoters=…"),
    ] = None,
    where: opt.WhereOption = None,
    since: opt.SinceOption = None,
    until: opt.UntilOption = None,
    draws: Annotated[int, typer.Option(help="Simulation draws (each a bootstrap).")] = 1000,
    seed: opt.SeedOption = 0,
    metric: Annotated[str | None, typer.Option(help=METRIC_HELP)] = None,
    fmt: opt.TableJsonFormat = "table",
    db: opt.DbOption = None,
) -> None:
    """Project the score (NPS, CSAT, CES or rating) if a theme were fixed for a share of the customers
    who complain about it."""
    from cxchange.decide.service import simulate
    from cxchange.measure.scale import LABELS

    result = simulate(
        engine_from(ctx, db), fix or [], moves=move or [], scope=_scope(where, since, until),
        draws=draws, seed=seed, metric=metric,
    )  # fmt: skip
    if fmt == "json":
        typer.echo(to_json(result))
        return
    fixes = ", ".join(f"{f['theme']} for {f['share']:.0%}" for f in result["fixes"]) or "the levers"
    d = 1 if result["metric"] in ("nps", "csat") else 2  # points of 100 vs a mean of a 1–5 or 1–7 scale
    typer.echo(
        f"If we fixed {fixes} of the customers who complain about it, {LABELS[result['metric']]} would "
        f"move from {result['baseline']:.{d}f} to {result['projected']:.{d}f} "
        f"(95 % CI {result['ci_low']:.{d}f}–{result['ci_high']:.{d}f}); change {result['delta']:+.{d}f} "
        f"({result['delta_ci_low']:+.{d}f} to {result['delta_ci_high']:+.{d}f}), "
        f"{result['customers_affected']} of {result['n']} respondents affected."
    )
    typer.echo(f"\nMethod: {result['method']}")
    typer.echo("Assumptions:\n" + "\n".join(f"  - {a}" for a in result["assumptions"]))


def opportunities_command(
    ctx: typer.Context,
    share: Annotated[float, typer.Option(help="Share of complainers fixed.")] = 0.5,
    churn_rate: Annotated[
        float,
        typer.Option(help="Share of at-risk detractors' value assumed lost (default 0.10)."),
    ] = 0.10,
    weights: Annotated[
        list[str] | None,
        typer.Option(
            help="nps_gain=1,revenue_at_risk=1,trend=0.5,customers=0,root_causes=0.5 (gain=… is the same "
            "weight, for any metric)",
        ),
    ] = None,
    effort_power: Annotated[float, typer.Option(help="priority ÷ effort^P.")] = 1.0,
    where: opt.WhereOption = None,
    since: opt.SinceOption = None,
    until: opt.UntilOption = None,
    draws: Annotated[int, typer.Option()] = 500,
    metric: Annotated[str | None, typer.Option(help=METRIC_HELP)] = None,
    fmt: opt.FormatOption = "table",
    db: opt.DbOption = None,
) -> None:
    """Themes ranked by what fixing them is worth on the score the scope has (NPS: `nps_gain`; CSAT,
    CES, rating: `gain`, positive = better); the formulas are printed with the ranking."""
    from cxchange.decide.service import opportunities, parse_weights

    result = opportunities(
        engine_from(ctx, db), share=share, churn_rate=churn_rate, weights=parse_weights(weights or []),
        effort_power=effort_power, scope=_scope(where, since, until), draws=draws, metric=metric,
    )  # fmt: skip
    rows = [{k: v for k, v in r.items() if k != "theme_id"} for r in result["opportunities"]]
    if fmt == "json":
        typer.echo(to_json(rows))
        return
    print_rows(rows, fmt, title=f"opportunities ({result['metric']})")
    if fmt == "table":
        typer.echo(result["formula"])
        typer.echo(f"{result['gain_formula']}; "
                   f"revenue_at_risk: customer value of detractors who complain × churn rate {churn_rate:g}; "
                   f"trend: {result['trend']}")  # fmt: skip


def business_case_command(
    ctx: typer.Context,
    theme: Annotated[str, typer.Argument(help="The theme to make the case for.")],
    share: Annotated[float, typer.Option(help="Share of complainers fixed.")] = 0.5,
    cost: Annotated[float | None, typer.Option(help="What fixing it costs.")] = None,
    value_per_point: Annotated[
        float | None, typer.Option(help="Annual value of one point of the score.")
    ] = None,
    churn_rate: Annotated[float, typer.Option()] = 0.10,
    output: Annotated[
        str, typer.Option("--output", "-o", help="case.md, case.html or case.pdf")
    ] = "business_case.html",
    metric: Annotated[str | None, typer.Option(help=METRIC_HELP)] = None,
    where: opt.WhereOption = None,
    since: opt.SinceOption = None,
    until: opt.UntilOption = None,
    db: opt.DbOption = None,
) -> None:
    """Write a business case for fixing THEME: quotes, where it hits, effect, money, risks, initiative."""
    from pathlib import Path

    from cxchange.core.errors import InputError
    from cxchange.decide.business_case import FORMATS, build_case, write_case

    path = Path(output)
    if path.suffix.lower() not in FORMATS:
        raise InputError(f"--output must end in {', '.join(FORMATS)}, got {path.name!r}")
    if not 0 <= share <= 1:
        raise InputError("--share must be between 0 and 1")
    case = build_case(
        engine_from(ctx, db), theme, share=share, cost=cost, value_per_point=value_per_point,
        churn_rate=churn_rate, scope=_scope(where, since, until), metric=metric,
    )  # fmt: skip
    write_case(case, path)
    typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    app.command("simulate")(scope_options(simulate_command))
    app.command("opportunities")(scope_options(opportunities_command))
    app.command("business-case")(scope_options(business_case_command))
