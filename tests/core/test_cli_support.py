"""The shared CLI layer: one span grammar, one rounding rule, one way to print an answer."""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Iterator
from typing import Annotated, Any, TypedDict, Unpack, get_args, get_origin, get_type_hints

import pytest
import typer
from typer.testing import CliRunner

from cxchange.core.errors import InputError
from cxchange.core.output import emit, rounded
from cxchange.core.spans import parse_span, parse_window
from cxchange.sustain.outcomes import parse_window as outcomes_window
from cxchange.understand.service import parse_span as understand_span


@pytest.mark.parametrize(
    ("text", "days"),
    [("30d", 30), ("12w", 84), ("6m", 180), ("1y", 365), ("45", 45), (45, 45), (" 8 W ", 56), ("2M", 60)],
)
def test_one_span_grammar(text: str | int, days: int) -> None:
    assert parse_span(text, "--window") == days
    # the services that parsed spans before use this grammar (every form either accepted stays accepted)
    assert understand_span(text, "--window") == days
    assert outcomes_window(text, "--after") == days


@pytest.mark.parametrize("text", ["0d", "", "d", "-3d", "1.5w", "3q", "all", "7 days", "١٢d"])
def test_bad_spans_are_refused_naming_the_option(text: str) -> None:
    with pytest.raises(InputError, match=r"^--baseline wants a span like 30d, 12w, 6m or 1y, got "):
        parse_span(text, "--baseline")


def test_all_is_a_window_not_a_span() -> None:
    assert parse_window("all", "--before") is None
    assert parse_window(" ALL ", "--before") is None
    assert parse_window("4w", "--before") == 28


def test_one_rounding_rule() -> None:
    assert rounded(1.23456) == 1.23
    assert rounded(1.23456, 3) == 1.235
    assert rounded(None) is None
    assert rounded(math.nan) is None
    assert rounded(math.inf) is None
    assert rounded(2) == 2.0


def test_emit_json_list_and_dict(capsys: pytest.CaptureFixture[str]) -> None:
    data = {"id": 3, "units": ["N", "S"], "owner": {"email": "a@x", "name": None}, "links": [{"unit": "N"}]}
    emit(data, "json")
    assert json.loads(capsys.readouterr().out) == data

    emit(data, "csv")  # a dict is one CSV row; nested values stay machine-readable
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "id,units,owner,links"
    assert lines[1].startswith('3,"[""N"", ""S""]",')

    emit(data, "table", title="t", tables=("links",))  # field/value, then the nested list as its own table
    out = capsys.readouterr().out
    assert "N, S" in out and "email=a@x" in out and "name=" not in out
    assert out.index("owner") < out.index("links")

    emit([{"a": 1, "tags": ["x", "y"]}], "csv")
    assert capsys.readouterr().out == 'a,tags\n1,"[""x"", ""y""]"\n'


def _runner_app(monkeypatch: pytest.MonkeyPatch, **runner: object) -> typer.Typer:
    """A one-command app on the command runner, its engine a stand-in (the runner only passes it on)."""
    import cxchange.core.cli_support as cli_support

    monkeypatch.setattr(cli_support, "engine_from", lambda ctx, db: f"engine:{db}")
    app = typer.Typer()

    @cli_support.engine_command(app, "answer", **runner)  # type: ignore[arg-type]
    def answer(engine: str, n: Annotated[int, typer.Option("--n")] = 1) -> object:
        """Answers n rows, or nothing for n = 0."""
        return None if n == 0 else [{"engine": engine, "i": i, "error": i == 2} for i in range(n)]

    @app.command("other")  # a second command keeps `answer` a sub-command
    def other() -> None: ...

    return app


def test_the_runner_prints_json_as_is_and_hands_other_formats_to_show(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shown: list[tuple[object, str]] = []
    app = _runner_app(monkeypatch, show=lambda rows, fmt: shown.append((rows, fmt)))
    out = CliRunner().invoke(app, ["answer", "--n", "2", "--format", "json", "--db", "sqlite://"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout) == [
        {"engine": "engine:sqlite://", "i": 0, "error": False},
        {"engine": "engine:sqlite://", "i": 1, "error": False},
    ]
    assert shown == []
    out = CliRunner().invoke(app, ["answer", "--format", "csv"])
    assert out.exit_code == 0 and shown == [([{"engine": "engine:None", "i": 0, "error": False}], "csv")]


def test_the_runner_exits_1_when_the_answer_fails_and_prints_nothing_for_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = _runner_app(monkeypatch, fails=lambda rows: any(r["error"] for r in rows), title="answers")
    failed = CliRunner().invoke(app, ["answer", "--n", "3", "--format", "json"])
    assert failed.exit_code == 1 and len(json.loads(failed.stdout)) == 3  # printed, then exit 1
    passed = CliRunner().invoke(app, ["answer", "--n", "2"])
    assert passed.exit_code == 0 and "answers" in passed.stdout
    nothing = CliRunner().invoke(app, ["answer", "--n", "0"])
    assert nothing.exit_code == 0 and nothing.stdout == ""
    refused = CliRunner().invoke(app, ["answer", "--format", "xml"])
    assert refused.exit_code != 0


def test_one_row_prints_a_record_as_a_one_row_list(monkeypatch: pytest.MonkeyPatch) -> None:
    import cxchange.core.cli_support as cli_support

    monkeypatch.setattr(cli_support, "engine_from", lambda ctx, db: "engine")
    shown: list[tuple[object, str]] = []
    app = typer.Typer()

    @cli_support.engine_command(app, "record", one_row=True, show=lambda rows, fmt: shown.append((rows, fmt)))
    def record(engine: str) -> object:
        return {"engine": engine, "id": 7}

    @app.command("other")
    def other() -> None: ...

    out = CliRunner().invoke(app, ["record", "--format", "json"])
    assert out.exit_code == 0 and json.loads(out.stdout) == [{"engine": "engine", "id": 7}]
    assert CliRunner().invoke(app, ["record"]).exit_code == 0
    assert shown == [([{"engine": "engine", "id": 7}], "table")]


def test_commands_that_call_a_service_pass_it_only_its_own_keywords() -> None:
    """`calls=` hands the options to the service by name: each must be one of the service's keywords
    and each keyword the service needs must be an option, or the command fails only when run."""
    from typer.main import get_command

    from cxchange.cli import app
    from cxchange.core.cli_support import _SCOPE_SHORTHANDS, _service

    def commands(cmd: Any) -> Iterator[Any]:
        yield cmd
        for sub in getattr(cmd, "commands", {}).values():
            yield from commands(sub)

    checked = []
    for cmd in commands(get_command(app)):
        calls = getattr(cmd.callback, "calls", None)
        if calls is None:
            continue
        # --source/--unit shorthands are folded into `where` before the call
        folded = {"ctx", "fmt", "db", *(name for name, _, _ in _SCOPE_SHORTHANDS)}
        options = [p for p in inspect.signature(cmd.callback).parameters if p not in folded]
        _keywords(_service(calls)).bind("engine", **dict.fromkeys(options))  # TypeError if not
        checked.append(calls)
    assert len(checked) >= 25, checked
    assert {"cxchange.sustain.outcomes:outcomes", "cxchange.sustain.outcome_plan:plan"} <= set(checked)


def _keywords(service: Any) -> inspect.Signature:
    """The service's signature with `**options: Unpack[Declared]` written out as Declared's keywords
    (each optional unless Declared requires it). Any other `**kwargs` would take every option, so the
    check above could not fail: a service a command calls by name must declare what it takes."""
    params = []
    for p in inspect.signature(service).parameters.values():
        if p.kind is not p.VAR_KEYWORD:
            params.append(p)
            continue
        hint = get_type_hints(service, include_extras=True)[p.name]
        assert get_origin(hint) is Unpack, f"{service.__qualname__}: **{p.name} is not Unpack[a TypedDict]"
        (declared,) = get_args(hint)
        params += [
            p.replace(
                name=k, kind=p.KEYWORD_ONLY, default=p.empty if k in declared.__required_keys__ else None
            )
            for k in declared.__annotations__
        ]
    return inspect.Signature(params)


def test_the_keyword_check_reads_options_declared_once() -> None:
    """`outcomes` and `outcomes plan` take `**options: Unpack[OutcomeOptions]`: the check sees its
    keywords, refuses one it does not name and one a required key lacks; and so does the service."""
    from cxchange.sustain.outcomes import outcomes

    names = list(_keywords(outcomes).parameters)
    assert names == ["engine", "initiative", "metric", "before", "after", "cluster", "level"]
    with pytest.raises(TypeError):
        _keywords(outcomes).bind("engine", "initiative", metrc="nps")
    with pytest.raises(TypeError, match=r"\['levl'\]: the outcome options are metric, before, after"):
        outcomes("engine", 1, metric="nps", levl=0.9)  # type: ignore[call-arg]  # before any query

    with pytest.raises(TypeError):
        _keywords(_needs).bind("engine")
    with pytest.raises(AssertionError, match="not Unpack"):
        _keywords(_takes_any)


class _Needs(TypedDict):
    must: int


def _needs(engine: Any, **options: Unpack[_Needs]) -> None: ...


def _takes_any(engine: Any, **options: Any) -> None: ...


def test_an_empty_listing_says_why_in_every_format(monkeypatch: pytest.MonkeyPatch) -> None:
    """A table says it on stdout instead of nothing; JSON and CSV keep the empty list scripts parse on
    stdout and say it on stderr (JSON was a bare `[]`, exit 0, with no hint)."""
    import cxchange.core.cli_support as cli_support

    monkeypatch.setattr(cli_support, "engine_from", lambda ctx, db: "engine")
    app = typer.Typer()

    @cli_support.engine_command(app, "things", empty="no things in {where} yet: `add-thing` adds one")
    def things(engine: str, where: Annotated[str, typer.Option("--where")] = "here") -> object:
        return []

    @app.command("other")
    def other() -> None: ...

    hint = "no things in there yet: `add-thing` adds one\n"
    table = CliRunner().invoke(app, ["things", "--where", "there"])
    assert table.exit_code == 0 and table.stdout == hint and table.stderr == ""
    as_json = CliRunner().invoke(app, ["things", "--where", "there", "--format", "json"])
    assert as_json.exit_code == 0 and json.loads(as_json.stdout) == [] and as_json.stderr == hint
    as_csv = CliRunner().invoke(app, ["things", "--where", "there", "--format", "csv"])
    assert as_csv.exit_code == 0 and as_csv.stdout.strip() == "" and as_csv.stderr == hint


def test_themes_list_on_a_store_without_a_taxonomy_says_so_in_json_too(tmp_path: Any) -> None:
    from cxchange.cli import app
    from cxchange.understand.themes import NO_TAXONOMY

    db = f"sqlite:///{tmp_path / 'empty.db'}"
    out = CliRunner().invoke(app, ["themes", "list", "--format", "json", "--db", db])
    assert out.exit_code == 0 and json.loads(out.stdout) == [] and out.stderr == NO_TAXONOMY + "\n"
    batches = CliRunner().invoke(app, ["batches", "--format", "json", "--db", db])  # had no hint at all
    assert json.loads(batches.stdout) == [] and batches.stderr.startswith("no import batches yet: ")
