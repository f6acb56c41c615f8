"""Understand commands: analyze, themes (report, discover, taxonomy edits), emerging."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from cxchange.core import cli_options as opt
from cxchange.core.cli_support import engine_from, runs_on_engine, scope_options
from cxchange.core.output import print_rows, to_json
from cxchange.core.period import Period
from cxchange.measure.scale import IMPACT_HELP
from cxchange.understand.cli_sentiment import BackendOption

if TYPE_CHECKING:
    from sqlalchemy import Engine

themes_app = typer.Typer(
    help="Themes: the report with impact on NPS, CSAT, CES or rating (no sub-command), discovery and "
    "the taxonomy.",
    invoke_without_command=True,
)


def analyze_command(
    ctx: typer.Context,
    source: opt.SourceOption = None,
    since: opt.SinceOption = None,
    where: opt.WhereOption = None,
    backend: BackendOption = None,
    workers: Annotated[int | None, typer.Option(help="Start a Dask LocalCluster of N.")] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address (or CXCHANGE_DASK_SCHEDULER).")
    ] = None,
    fmt: opt.TableJsonFormat = "table",
    db: opt.DbOption = None,
) -> None:
    """Sentiment and themes for every comment not analysed yet; re-match themes an edit touched."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from cxchange.understand.analyze import analyze

    engine = engine_from(ctx, db)
    with Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        transient=True, disable=fmt == "json",
    ) as bar:  # fmt: skip
        task = bar.add_task("analysing", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = analyze(
            engine, source=source, since=since, where=tuple(where or ()),
            backend=backend, workers=workers, scheduler=scheduler, progress=progress,
        )  # fmt: skip
    print_rows([result], fmt, title="analysis")
    for key in ("warning", "note"):
        if result.get(key):
            typer.echo(result[key], err=True)


@themes_app.callback()
@scope_options
def themes_report(
    ctx: typer.Context,
    by: Annotated[str | None, typer.Option(help="attr:NAME, source or channel.")] = None,
    source: opt.SourceOption = None,
    since: opt.SinceOption = None,
    until: opt.UntilOption = None,
    where: opt.WhereOption = None,
    boot: Annotated[int, typer.Option(help="Bootstrap draws for the impact interval.")] = 2000,
    metric: Annotated[str | None, typer.Option(help=IMPACT_HELP)] = None,
    fmt: opt.FormatOption = "table",
    db: opt.DbOption = None,
) -> None:
    """Each theme: count, share, sentiment, the score (NPS, CSAT, CES or rating) with and without it,
    and its impact (with 95 % CI); JSON rows carry metric, score_with, score_without, impact, ci_low,
    ci_high (and, for NPS, nps_with and nps_without as before)."""
    if ctx.invoked_subcommand is not None:
        if db:  # `themes --db URL list`: the sub-command reads the root's --db
            root = ctx.find_root()
            root.obj = {**(root.obj or {}), "db": db}
        return
    from cxchange.measure.scale import check_metric, default_metric, impact_title
    from cxchange.understand.service import missing_metric_hint, scope_answers, theme_stats

    engine = engine_from(ctx, db)
    in_scope, period = tuple(where or ()), Period(since, until)
    answers = scope_answers(engine, where=in_scope, source=source, period=period)
    chosen = check_metric(metric) if metric else default_metric(answers)
    rows = theme_stats(
        engine, by=by, n_boot=boot, metric=chosen, where=in_scope, source=source, period=period
    )
    if not rows:  # a fresh database: say why it is empty and what to do (the smoke test wants exit 0)
        from cxchange.understand.themes import NO_TAXONOMY

        typer.echo(NO_TAXONOMY, err=True)
    elif hint := missing_metric_hint(chosen, answers):
        typer.echo(hint, err=True)
    cols = None
    if fmt == "table":
        with_without = ["nps_with", "nps_without"] if chosen == "nps" else ["score_with", "score_without"]
        cols = [*(["group"] if by else []), "name", "parent", "count", "share", "sentiment",
                *with_without, "impact", "ci_low", "ci_high"]  # fmt: skip
    print_rows(rows, fmt, title=impact_title(chosen), columns=cols)
    if fmt == "table":
        for r in rows:
            if r.get("too_broad"):
                typer.echo(
                    f"too broad: {r['name']!r} keyword(s) {', '.join(r['too_broad'])} alone tag "
                    f"{100 * (r['share'] or 0):.0f} % of the comments; make them more specific "
                    "(`cxchange themes split` / `themes keywords`)",
                    err=True,
                )


@themes_app.command("discover")
@scope_options
def themes_discover(
    ctx: typer.Context,
    source: opt.SourceOption = None,
    since: opt.SinceOption = None,
    where: opt.WhereOption = None,
    max_themes: Annotated[int, typer.Option(help="Top-level themes at most.")] = 12,
    seed: opt.SeedOption = 0,
    embedder: Annotated[
        str,
        typer.Option(
            help="adaptive (default: minilm-onnx for short comments when installed, else static; tfidf "
            "for long ones), minilm-onnx (MiniLM run by onnxruntime, no torch; needs the minilm extra and "
            "`make minilm-onnx`), minilm-int8 (its static int8 copy, built beside it), static (word vectors "
            "distilled from MiniLM; fast), tfidf (fast, no extra "
            "packages), minilm (sentence embeddings of a sample with torch; needs the embeddings extra) or "
            "auto (minilm when installed, else tfidf).",
        ),
    ] = "adaptive",
    save: Annotated[
        bool,
        typer.Option(
            "--save",
            help="Add the proposals to the taxonomy; themes an earlier discovery of the same --source saved "
            "that these do not include are retired (curated themes are kept).",
        ),
    ] = False,
    fmt: opt.TableJsonFormat = "table",
    db: opt.DbOption = None,
) -> None:
    """Propose themes from the comments: names, keywords, sizes, representative comments."""
    from cxchange.understand.discovery import NOT_JSON, discover, save_discovery
    from cxchange.understand.themes.matcher import TOO_BROAD

    engine = engine_from(ctx, db)
    result = discover(
        engine, source=source, since=since, where=tuple(where or ()),
        max_themes=max_themes, seed=seed, embedder=embedder, progress=lambda line: typer.echo(line, err=True),
    )  # fmt: skip
    if save:
        result["saved"] = save_discovery(engine, result)
    for key in NOT_JSON:  # the fitted matcher and the vectors: stored by --save, not printable
        result.pop(key, None)
    if fmt == "json":
        typer.echo(to_json(result))
        return
    rows = [
        {"theme": ("  " if t["parent"] else "") + t["name"], "size": t["size"],
         "share": t["share"], "keywords": ", ".join(t["keywords"][:8]),
         "example": (t["examples"][0] if t["examples"] else "")[:120]}
        for t in _tree_order(result["themes"])
    ]  # fmt: skip
    of = f" of {result['comments_in_scope']:,}" if result["comments_in_scope"] > result["comments"] else ""
    print_rows(rows, "table", title=f"proposed themes ({result['comments']:,}{of} comments)")
    typer.echo(f"unassigned: {result['unassigned']} ({100 * result['unassigned_share']:.1f} %)")
    for note in result["notes"]:
        typer.echo(f"note: {note}")
    broad = sorted({k for t in result["themes"] for k in t["too_broad"]})
    if broad:
        typer.echo(
            f"too broad as keyword rules (each in over {100 * TOO_BROAD:.0f} % of the comments): "
            f"{', '.join(broad)}; saved themes are assigned by their matcher instead"
        )
    if result["brands_removed"]:
        typer.echo(f"left out as names of who was addressed: {', '.join(result['brands_removed'][:20])}")
    if save:
        saved = {k: v for k, v in result["saved"].items() if k != "retired_themes"}
        typer.echo(f"saved to the taxonomy: {saved}; run `cxchange analyze` to assign them")
        if result["saved"]["retired_themes"]:
            typer.echo(
                "retired, from an earlier discovery this one replaces: "
                + ", ".join(result["saved"]["retired_themes"])
            )


def _tree_order(themes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for t in themes:
        if t["parent"] is None:
            out.append(t)
            out.extend(c for c in themes if c["parent"] == t["name"])
    return out


def _show_emerging(report: dict[str, Any], fmt: str) -> None:
    from cxchange.understand.service import emerging_summary

    rows = report["items"]
    if fmt == "table":
        rows = [{**r, "examples": " | ".join(e[:80] for e in r["examples"])} for r in rows]
        cols = ["theme", "recent_count", "baseline_mean", "z", "examples"]
        if rows:
            print_rows(rows, fmt, title="emerging", columns=cols)
        typer.echo(emerging_summary(report))
        return
    print_rows(rows, fmt, title="emerging")
    typer.echo(emerging_summary(report), err=True)  # CSV stays rows only; what was compared goes aside


# JSON: the findings under "items", with the windows compared.
@runs_on_engine(show=_show_emerging)
def emerging_command(
    engine: Engine,
    window: Annotated[str, typer.Option(help="Recent period: 7d, 2w…")] = "7d",
    baseline: Annotated[str, typer.Option(help="Period before it to compare with.")] = "8w",
    until: opt.UntilOption = None,
    source: opt.SourceOption = None,
    where: opt.WhereOption = None,
    z: Annotated[float, typer.Option(help="Standard deviations above the baseline to flag.")] = 3.0,
    min_count: Annotated[int, typer.Option(help="Recent mentions needed to flag.")] = 10,
) -> Any:
    """Themes rising unusually fast, and new clusters of words in comments no theme covers."""
    from cxchange.understand.service import emerging_report

    scope = tuple(where or ())
    return emerging_report(
        engine, window=window, baseline=baseline, until=until, source=source, where=scope, z_min=z,
        min_count=min_count,
    )  # fmt: skip


def register(app: typer.Typer) -> None:
    import cxchange.understand.cli_taxonomy  # noqa: F401  (defining them registers the taxonomy's commands)

    app.command("analyze")(scope_options(analyze_command))
    app.command("emerging")(emerging_command)
    app.add_typer(themes_app, name="themes")
