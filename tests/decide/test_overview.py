"""The decide page's figures are stored per data version by the write that makes the version, so the
first reader (a fresh server, the first load after an import) reads them instead of computing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from cxchange.decide import overview, refresh
from cxchange.decide.models import DecideSnapshot
from cxchange.demo.generator import generate
from cxchange.demo.load import load_demo
from cxchange.listen.service import ImportOptions, import_file


def _refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
    raise AssertionError("computed again")


def _import(engine: Engine, path: Path, rows: int) -> None:
    lines = "".join(f"{path.stem}{i},{i % 11},the queue was long and the wait slow\n" for i in range(rows))
    path.write_text("id,NPS,Comment\n" + lines)
    import_file(engine, path, ImportOptions(source="extra"))


def test_writes_store_the_figures_and_readers_only_read_them(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_demo(engine, generate(rows=1_500, seed=11))  # imports, then analyses: the analysis stores them
    with engine.connect() as conn:
        stored = conn.execute(select(DecideSnapshot.scope, DecideSnapshot.seconds)).all()
    assert [row.scope for row in stored] == [[]] and stored[0].seconds > 0

    fresh = overview.compute_figures(engine, ())
    monkeypatch.setattr(overview, "compute_figures", _refuse)
    first = overview.decide_overview(engine, ())
    stored_figures = overview.figures(engine, ())  # what is stored is what computing now gives
    assert {k: v for k, v in stored_figures.items() if k != "figures"} == {
        k: v for k, v in fresh.items() if k != "figures"
    }
    # (money sums may differ in the last cent: polars sums in parallel)
    for mine, theirs in zip(stored_figures["figures"]["rows"], fresh["figures"]["rows"], strict=True):
        assert mine == pytest.approx(theirs, abs=0.02)
    assert first["drivers"]["drivers"] and first["drivers"]["n"] > 100
    assert len(first["opportunities"]["opportunities"]) >= 5 and first["baseline"]["n"] > 500
    monkeypatch.undo()

    # An import makes a new data version; the import itself computes its figures.
    _import(engine, tmp_path / "more.csv", 40)
    monkeypatch.setattr(overview, "compute_figures", _refuse)
    after = overview.decide_overview(engine, ())
    assert after["baseline"]["n"] == first["baseline"]["n"] + 40
    with engine.connect() as conn:
        assert len(conn.execute(select(DecideSnapshot.scope_key)).all()) == 1  # replaced, not added


def test_a_scope_is_computed_by_its_first_reader_then_read(
    demo_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    where = ("attr:region=North",)
    calls: list[tuple[str, ...]] = []
    compute = overview.compute_figures

    def counted(eng: Engine, scope: tuple[str, ...]) -> dict:  # type: ignore[type-arg]
        calls.append(tuple(scope))
        return compute(eng, scope)

    monkeypatch.setattr(overview, "compute_figures", counted)
    with demo_engine.begin() as conn:  # nothing stored for this scope yet
        conn.execute(
            DecideSnapshot.__table__.delete().where(DecideSnapshot.scope_key == overview.scope_key(where))
        )
    north = overview.decide_overview(demo_engine, where)
    again = overview.decide_overview(demo_engine, where)
    assert calls == [where] and north == again
    whole = overview.decide_overview(demo_engine, ())
    assert north["baseline"]["n"] < whole["baseline"]["n"]


def test_opportunities_are_ranked_with_the_current_root_causes(
    demo_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cxchange.subscribers  # noqa: F401  (the registry answers first; the patch below replaces it)
    from cxchange.core import events

    before = overview.decide_overview(demo_engine, ())
    last = before["opportunities"]["opportunities"][-1]["theme"]
    monkeypatch.setattr(overview, "compute_figures", _refuse)
    monkeypatch.setitem(events._answerers, events.ROOT_CAUSES, lambda engine: {last: 50})
    after = overview.decide_overview(demo_engine, ())["opportunities"]["opportunities"]
    rows = {r["theme"]: r for r in after}
    assert rows[last]["root_causes"] == 50
    assert [r["theme"] for r in after].index(last) < len(after) - 1  # evidence moved it up


def test_a_failure_after_the_write_never_fails_the_write(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(overview, "figures", _refuse)
    _import(sqlite_engine, tmp_path / "a.csv", 5)  # nothing analysed: not even attempted
    assert refresh.refresh_after_write(sqlite_engine)["computed"] is False
    from cxchange.understand.analyze import analyze

    analyze(sqlite_engine)  # the refresh fails inside: the analysis still succeeds
    assert refresh.refresh_after_write(sqlite_engine)["computed"] is False
