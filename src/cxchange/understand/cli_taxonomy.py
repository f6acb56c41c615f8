"""`cxchange themes …` sub-commands that edit the taxonomy: the themes are the user's. Imported by
`understand.cli.register`: each command is registered on `themes` where it is defined."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cxchange.core import cli_options as opt
from cxchange.core.cli_support import commands_of, engine_from
from cxchange.core.errors import InputError
from cxchange.core.output import print_rows
from cxchange.understand.cli import themes_app
from cxchange.understand.themes import NO_TAXONOMY

if TYPE_CHECKING:
    from sqlalchemy import Engine

KeywordsOption = Annotated[
    list[str] | None, typer.Option("--keyword", "-k", help="A keyword or phrase (repeatable; commas split).")
]
ThemeArgument = Annotated[str, typer.Argument(help="Theme (name or id).")]
ExampleOption = Annotated[list[str] | None, typer.Option("--example", "-e", help="An example phrase.")]


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for item in values or () for v in item.split(",") if v.strip()]


def _show_edit(rows: list[dict[str, Any]], fmt: str) -> None:
    """An edit's result: one table row (its commands take table or json; JSON is the one-row list)."""
    print_rows(rows, fmt, title="taxonomy")


def _show_edit_of_matching(rows: list[dict[str, Any]], fmt: str) -> None:
    """An edit that changes what matches a theme: the stored assignments are stale until analysed."""
    _show_edit(rows, fmt)
    typer.echo("run `cxchange analyze` to re-assign the themes this edit changed", err=True)


def _show_list(rows: list[dict[str, Any]], fmt: str) -> None:
    cols = (
        ["id", "path", "keywords", "examples", "origin", "effort", "up_to_date"] if fmt == "table" else None
    )
    print_rows(rows, fmt, title="taxonomy", columns=cols)


# An edit answers the edited theme: one row (JSON too: a one-row list).
_EDIT: dict[str, Any] = {"formats": opt.TABLE_JSON, "show": _show_edit, "one_row": True}
_EDIT_OF_MATCHING: dict[str, Any] = {**_EDIT, "show": _show_edit_of_matching}
TAXONOMY = "cxchange.understand.themes.taxonomy"
# The name each command has under `themes` stands with it (listed after the report's own `discover`).
theme_command = commands_of(themes_app)


@theme_command("list", show=_show_list, calls=f"{TAXONOMY}:theme_rows", empty=NO_TAXONOMY)
def themes_list() -> None:
    """The taxonomy: every theme with its parent, keywords and whether its assignments are current."""


@theme_command("add", **_EDIT_OF_MATCHING)
def themes_add(
    engine: Engine,
    name: Annotated[str, typer.Argument(help="Theme name.")],
    keyword: KeywordsOption = None,
    example: ExampleOption = None,
    parent: Annotated[str | None, typer.Option(help="Parent theme (name or id).")] = None,
    effort: Annotated[int | None, typer.Option(help="1 (easy) .. 5 (hard).")] = None,
) -> Any:
    """Add a theme with keywords or example phrases."""
    from cxchange.understand.themes.taxonomy import add_theme

    keywords, examples = _split(keyword), example or []
    return add_theme(engine, name, keywords=keywords, examples=examples, parent=parent, effort=effort)


@theme_command("rename", **_EDIT, calls=f"{TAXONOMY}:rename_theme")
def themes_rename(theme: ThemeArgument, new_name: Annotated[str, typer.Argument(help="New name.")]) -> None:
    """Rename a theme (its assignments stay)."""


@theme_command("merge", **_EDIT, calls=f"{TAXONOMY}:merge_themes")
def themes_merge(
    themes: Annotated[list[str], typer.Argument(help="Themes to fold in.")],
    into: Annotated[str, typer.Option(help="The theme that remains.")],
) -> None:
    """Merge themes into one: keywords, children and assignments move."""


@theme_command("split", **_EDIT_OF_MATCHING)
def themes_split(
    engine: Engine,
    theme: Annotated[str, typer.Argument(help="Theme to split.")],
    name: Annotated[str, typer.Option(help="Name of the new theme.")],
    keyword: KeywordsOption = None,
    sibling: Annotated[bool, typer.Option("--sibling", help="Make it a sibling, not a child.")] = False,
) -> Any:
    """Move some of a theme's keywords to a new theme (a child unless --sibling)."""
    from cxchange.understand.themes.taxonomy import split_theme

    kws = _split(keyword)
    if not kws:
        raise InputError("themes split needs --keyword for the new theme")
    return split_theme(engine, theme, name, kws, as_child=not sibling)


@theme_command("delete", **_EDIT, calls=f"{TAXONOMY}:delete_theme")
def themes_delete(theme: ThemeArgument) -> None:
    """Delete a theme and its assignments (its children move up)."""


@theme_command("keywords", **_EDIT_OF_MATCHING)
def themes_keywords(
    engine: Engine,
    theme: ThemeArgument,
    keyword: KeywordsOption = None,
    example: ExampleOption = None,
) -> Any:
    """Add keywords or example phrases to a theme."""
    from cxchange.understand.themes.taxonomy import add_terms

    return add_terms(engine, theme, keywords=_split(keyword), examples=example or [])


@theme_command("set-effort", **_EDIT, calls=f"{TAXONOMY}:set_effort")
def themes_set_effort(
    theme: ThemeArgument, effort: Annotated[int, typer.Argument(help="1 (easy) .. 5 (hard).")]
) -> None:
    """Record how hard fixing a theme is (used to rank opportunities)."""


@themes_app.command("export")
def themes_export(
    ctx: typer.Context,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Write FILE.yaml, and discovered themes' matchers beside it "
            "(FILE.matchers.npz); needed when the taxonomy has discovered themes.",
        ),
    ] = None,
    db: opt.DbOption = None,
) -> None:
    """Print the taxonomy as YAML (`cxchange themes export > t.yaml`), or write it with --out."""
    from cxchange.understand.themes.taxonomy import export_yaml

    text = export_yaml(engine_from(ctx, db), out)
    if out is None:
        typer.echo(text, nl=False)
    else:
        typer.echo(f"wrote {out}", err=True)


@theme_command("import", **_EDIT_OF_MATCHING)
def themes_import(
    engine: Engine,
    file: Annotated[Path | None, typer.Argument(help="Taxonomy YAML file.")] = None,
    builtin: Annotated[str | None, typer.Option(help="A shipped taxonomy, e.g. cx_default.")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Delete themes not in the file.")] = False,
) -> Any:
    """Create or update themes from YAML (by name); see `themes export` for the format."""
    from cxchange.understand.themes.taxonomy import import_yaml

    if (file is None) == (builtin is None):
        raise InputError("give a FILE or --builtin NAME")
    path = file if file is not None else builtin_taxonomy(builtin or "")
    return import_yaml(engine, path, replace=replace)


def builtin_taxonomy(name: str) -> Path:
    from importlib import resources

    base = Path(str(resources.files("cxchange.understand") / "taxonomies"))
    path = base / f"{name}.yaml"
    if not path.is_file():
        choices = ", ".join(sorted(p.stem for p in base.glob("*.yaml")))
        raise InputError(f"no built-in taxonomy {name!r}; choose from {choices}")
    return path
