"""`cxchange themes …` sub-commands that edit the taxonomy: the themes are the user's."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cxchange.core.cli_support import DbOption, FormatOption, TableJsonFormat, engine_from
from cxchange.core.errors import InputError
from cxchange.core.output import print_rows

KeywordsOption = Annotated[
    list[str] | None, typer.Option("--keyword", "-k", help="A keyword or phrase (repeatable; commas split).")
]
ExampleOption = Annotated[list[str] | None, typer.Option("--example", "-e", help="An example phrase.")]


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for item in values or () for v in item.split(",") if v.strip()]


def _done(result: dict, fmt: str) -> None:  # type: ignore[type-arg]
    """An edit's result: one table row or JSON (its commands take table or json)."""
    print_rows([result], fmt, title="taxonomy")


def _stale_hint(fmt: str) -> None:
    if fmt == "table":
        typer.echo("run `cxchange analyze` to re-assign the themes this edit changed", err=True)


def themes_list(ctx: typer.Context, fmt: FormatOption = "table", db: DbOption = None) -> None:
    """The taxonomy: every theme with its parent, keywords and whether its assignments are current."""
    from cxchange.understand.themes.taxonomy import theme_rows

    rows = theme_rows(engine_from(ctx, db))
    cols = (
        ["id", "path", "keywords", "examples", "origin", "effort", "up_to_date"] if fmt == "table" else None
    )
    print_rows(rows, fmt, title="taxonomy", columns=cols)


def themes_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Theme name.")],
    keyword: KeywordsOption = None,
    example: ExampleOption = None,
    parent: Annotated[str | None, typer.Option("--parent", help="Parent theme (name or id).")] = None,
    effort: Annotated[int | None, typer.Option("--effort", help="1 (easy) .. 5 (hard).")] = None,
    fmt: TableJsonFormat = "table",
    db: DbOption = None,
) -> None:
    """Add a theme with keywords or example phrases."""
    from cxchange.understand.themes.taxonomy import add_theme

    _done(add_theme(engine_from(ctx, db), name, keywords=_split(keyword), examples=example or [],
                    parent=parent, effort=effort), fmt)  # fmt: skip
    _stale_hint(fmt)


def themes_rename(
    ctx: typer.Context,
    theme: Annotated[str, typer.Argument(help="Theme (name or id).")],
    new_name: Annotated[str, typer.Argument(help="New name.")],
    fmt: TableJsonFormat = "table",
    db: DbOption = None,
) -> None:
    """Rename a theme (its assignments stay)."""
    from cxchange.understand.themes.taxonomy import rename_theme

    _done(rename_theme(engine_from(ctx, db), theme, new_name), fmt)


def themes_merge(
    ctx: typer.Context,
    themes: Annotated[list[str], typer.Argument(help="Themes to fold in.")],
    into: Annotated[str, typer.Option("--into", help="The theme that remains.")],
    fmt: TableJsonFormat = "table",
    db: DbOption = None,
) -> None:
    """Merge themes into one: keywords, children and assignments move."""
    from cxchange.understand.themes.taxonomy import merge_themes

    _done(merge_themes(engine_from(ctx, db), themes, into), fmt)


def themes_split(
    ctx: typer.Context,
    theme: Annotated[str, typer.Argument(help="Theme to split.")],
    name: Annotated[str, typer.Option("--name", help="Name of the new theme.")],
    keyword: KeywordsOption = None,
    sibling: Annotated[bool, typer.Option("--sibling", help="Make it a sibling, not a child.")] = False,
    fmt: TableJsonFormat = "table",
    db: DbOption = None,
) -> None:
    """Move some of a theme's keywords to a new theme (a child unless --sibling)."""
    from cxchange.understand.themes.taxonomy import split_theme

    kws = _split(keyword)
    if not kws:
        raise InputError("themes split needs --keyword for the new theme")
    _done(split_theme(engine_from(ctx, db), theme, name, kws, as_child=not sibling), fmt)
    _stale_hint(fmt)


def themes_delete(
    ctx: typer.Context,
    theme: Annotated[str, typer.Argument(help="Theme (name or id).")],
    fmt: TableJsonFormat = "table",
    db: DbOption = None,
) -> None:
    """Delete a theme and its assignments (its children move up)."""
    from cxchange.understand.themes.taxonomy import delete_theme

    _done(delete_theme(engine_from(ctx, db), theme), fmt)


def themes_keywords(
    ctx: typer.Context,
    theme: Annotated[str, typer.Argument(help="Theme (name or id).")],
    keyword: KeywordsOption = None,
    example: ExampleOption = None,
    fmt: TableJsonFormat = "table",
    db: DbOption = None,
) -> None:
    """Add keywords or example phrases to a theme."""
    from cxchange.understand.themes.taxonomy import add_terms

    _done(add_terms(engine_from(ctx, db), theme, keywords=_split(keyword), examples=example or []), fmt)
    _stale_hint(fmt)


def themes_set_effort(
    ctx: typer.Context,
    theme: Annotated[str, typer.Argument(help="Theme (name or id).")],
    effort: Annotated[int, typer.Argument(help="1 (easy) .. 5 (hard).")],
    fmt: TableJsonFormat = "table",
    db: DbOption = None,
) -> None:
    """Record how hard fixing a theme is (used to rank opportunities)."""
    from cxchange.understand.themes.taxonomy import set_effort

    _done(set_effort(engine_from(ctx, db), theme, effort), fmt)


def themes_export(
    ctx: typer.Context,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Write FILE.yaml, and discovered themes' matchers beside it "
            "(FILE.matchers.npz); needed when the taxonomy has discovered themes.",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Print the taxonomy as YAML (`cxchange themes export > t.yaml`), or write it with --out."""
    from cxchange.understand.themes.taxonomy import export_yaml

    text = export_yaml(engine_from(ctx, db), out)
    if out is None:
        typer.echo(text, nl=False)
    else:
        typer.echo(f"wrote {out}", err=True)


def themes_import(
    ctx: typer.Context,
    file: Annotated[Path | None, typer.Argument(help="Taxonomy YAML file.")] = None,
    builtin: Annotated[
        str | None, typer.Option("--builtin", help="A shipped taxonomy, e.g. cx_default.")
    ] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Delete themes not in the file.")] = False,
    fmt: TableJsonFormat = "table",
    db: DbOption = None,
) -> None:
    """Create or update themes from YAML (by name); see `themes export` for the format."""
    from cxchange.understand.themes.taxonomy import import_yaml

    if (file is None) == (builtin is None):
        raise InputError("give a FILE or --builtin NAME")
    path = file if file is not None else builtin_taxonomy(builtin or "")
    _done(import_yaml(engine_from(ctx, db), path, replace=replace), fmt)
    _stale_hint(fmt)


def builtin_taxonomy(name: str) -> Path:
    from importlib import resources

    base = Path(str(resources.files("cxchange.understand") / "taxonomies"))
    path = base / f"{name}.yaml"
    if not path.is_file():
        choices = ", ".join(sorted(p.stem for p in base.glob("*.yaml")))
        raise InputError(f"no built-in taxonomy {name!r}; choose from {choices}")
    return path


def register_taxonomy(themes_app: typer.Typer) -> None:
    themes_app.command("list")(themes_list)
    themes_app.command("add")(themes_add)
    themes_app.command("rename")(themes_rename)
    themes_app.command("merge")(themes_merge)
    themes_app.command("split")(themes_split)
    themes_app.command("delete")(themes_delete)
    themes_app.command("keywords")(themes_keywords)
    themes_app.command("set-effort")(themes_set_effort)
    themes_app.command("export")(themes_export)
    themes_app.command("import")(themes_import)
