"""The respondent frame the decide stage reads (cxchange.decide.data.load_respondents)."""

from __future__ import annotations

import polars as pl
import pytest
from sqlalchemy import Engine

from cxchange.core.errors import InputError
from cxchange.decide.data import Respondents, load_respondents


def test_comments_and_attributes_load_only_when_asked(demo_engine: Engine) -> None:
    lean = load_respondents(demo_engine, where=("attr:region=North",))
    full = load_respondents(demo_engine, where=("attr:region=North",), attrs=["segment"], text=True)
    assert lean.frame.height == full.frame.height > 0
    assert lean.frame["text"].null_count() == lean.frame.height  # not fetched
    assert full.frame["text"].drop_nulls().len() > 0.3 * full.frame.height
    assert "attr:segment" not in lean.frame.columns
    assert set(full.frame["attr:segment"].drop_nulls().unique()) >= {"consumer"}
    # Everything else is the same frame.
    same = [c for c in lean.frame.columns if c != "text"]
    assert lean.frame.select(same).equals(full.frame.select(same))
    assert lean.themes == full.themes and lean.analysed and full.analysed
    assert full.frame.filter(pl.col("attr:segment").is_null()).height < full.frame.height


def test_drivers_and_opportunities_reuse_loaded_respondents(
    demo_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cxchange.decide import data, service
    from cxchange.decide.service import Scope, opportunities

    where = ("attr:region=North",)
    loaded = load_respondents(demo_engine, where=where, attrs=["segment"])
    own = data.theme_driver_frame(demo_engine, target="nps", where=where)
    own_opp = opportunities(demo_engine, scope=Scope(where=where), draws=50)

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("loaded again")

    monkeypatch.setattr(data, "load_respondents", refuse)
    monkeypatch.setattr(service, "load_respondents", refuse)
    shared = data.theme_driver_frame(demo_engine, target="nps", where=where, respondents=loaded)
    assert shared[0].equals(own[0]) and shared[1:] == own[1:]
    shared_opp = opportunities(demo_engine, scope=Scope(where=where), draws=50, respondents=loaded)
    # Same ranking and figures (money sums may differ in the last cent: polars sums in parallel).
    assert [o["theme"] for o in shared_opp["opportunities"]] == [o["theme"] for o in own_opp["opportunities"]]
    for mine, theirs in zip(shared_opp["opportunities"], own_opp["opportunities"], strict=True):
        assert mine == pytest.approx(theirs, abs=0.02)
    # Respondents without the column a call needs are not trusted: it loads its own.
    lean = Respondents(loaded.frame.drop("attr:segment"), loaded.themes, loaded.analysed)
    with pytest.raises(AssertionError, match="loaded again"):
        data.theme_driver_frame(demo_engine, target="attr:segment", where=where, respondents=lean)
    with pytest.raises(AssertionError, match="loaded again"):
        opportunities(demo_engine, scope=Scope(where=where), draws=50, respondents=lean)


def test_nothing_analysed_is_one_clear_error_everywhere(sqlite_engine: Engine) -> None:
    from cxchange.core.errors import CxError
    from cxchange.decide.business_case import build_case
    from cxchange.decide.service import Scope, opportunities, respondents_in, simulate
    from cxchange.listen.service import ImportOptions, import_frame

    frame = pl.DataFrame({"id": ["a", "b"], "nps": ["9", "3"], "comment": ["queue long", "lovely staff"]})
    opts = ImportOptions(source="s", map_options=("external_id=id", "nps=nps", "text=comment"))
    import_frame(sqlite_engine, frame, opts)
    unanalysed = load_respondents(sqlite_engine, attrs=["segment"])
    assert unanalysed.frame.height == 2 and not unanalysed.analysed
    for call in (
        lambda: respondents_in(sqlite_engine, Scope(), attrs=[]),
        lambda: opportunities(sqlite_engine),
        lambda: opportunities(sqlite_engine, respondents=unanalysed),
        lambda: simulate(sqlite_engine, ["Waiting time"]),
        lambda: build_case(sqlite_engine, "Waiting time"),
    ):
        with pytest.raises(CxError, match="cxchange analyze"):
            call()


def test_dates_and_attributes_read_as_stored(engine: Engine) -> None:
    """Timestamps (text on SQLite, datetimes on PostgreSQL) and attributes (pulled out of the JSON by
    the database) come back as they were imported, on both databases."""
    from datetime import datetime

    from cxchange.listen.service import ImportOptions, import_frame

    frame = pl.DataFrame(
        {
            "id": ["a", "b", "c"],
            "nps": ["9", "3", "7"],
            "date": ["2025-01-05 10:30:15", "2025-02-01 00:00:00", "2025-03-09 23:59:59"],
            "segment": ["retail", "small business", None],
            "comment": ["quick", "slow queue", "fine"],
        }
    )
    mapping = ("external_id=id", "nps=nps", "received_at=date", "text=comment")
    import_frame(engine, frame, ImportOptions(source="s", map_options=mapping))
    loaded = load_respondents(engine, attrs=["segment", "missing"]).frame.sort("id")
    assert loaded.schema["received_at"] == pl.Datetime("us")
    assert loaded["received_at"].to_list() == [
        datetime(2025, 1, 5, 10, 30, 15), datetime(2025, 2, 1), datetime(2025, 3, 9, 23, 59, 59)
    ]  # fmt: skip
    assert loaded["attr:segment"].to_list() == ["retail", "small business", None]
    assert loaded["attr:missing"].null_count() == 3 and loaded["nps"].to_list() == [9.0, 3.0, 7.0]


def test_theme_driver_frame_names_each_rows_store_for_the_bootstrap(demo_engine: Engine) -> None:
    from cxchange.decide import data

    frame, predictors, _perf, _notes = data.theme_driver_frame(demo_engine, target="nps")
    assert data.STORE_COLUMN in frame.columns and data.STORE_COLUMN not in predictors
    assert frame[data.STORE_COLUMN].n_unique() >= 10  # enough stores: drivers resample stores


def test_a_parent_theme_rolls_up_its_sub_themes(sqlite_engine: Engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A discovered parent is never assigned itself: its business case and --fix read its sub-themes'
    comments (as the themes report counts them), and it is no driver of its own (nor "not mentioned")."""
    from cxchange.decide.business_case import build_case
    from cxchange.decide.data import theme_driver_frame
    from cxchange.decide.service import simulate
    from cxchange.listen.service import ImportOptions, import_frame
    from cxchange.understand.analyze import analyze
    from cxchange.understand.themes.taxonomy import import_yaml

    comments = [
        "the queue was awful and slow",
        "rude staff, terrible",
        "lovely staff",
        "no queue at all, great",
    ]
    frame = pl.DataFrame(
        {"id": [str(i) for i in range(40)], "nps": [str(3 + i % 7) for i in range(40)],
         "comment": [comments[i % 4] for i in range(40)]}
    )  # fmt: skip
    import_frame(
        sqlite_engine,
        frame,
        ImportOptions(source="s", map_options=("external_id=id", "nps=nps", "text=comment")),
    )
    taxonomy = tmp_path / "t.yaml"
    taxonomy.write_text(
        "themes:\n  - name: Service\n    children:\n      - name: Waiting time\n        keywords: [queue]\n"
        "      - name: Staff\n        keywords: [staff]\n"
    )
    import_yaml(sqlite_engine, taxonomy)
    analyze(sqlite_engine)
    # A curated parent is matched itself; a discovered one never is (discovery's matcher places comments
    # in leaves): the store as `themes discover --save` leaves it.
    from sqlalchemy import delete

    from cxchange.understand.models import FeedbackTheme

    service = load_respondents(sqlite_engine).theme_id("Service")
    with sqlite_engine.begin() as conn:
        assert conn.execute(delete(FeedbackTheme).where(FeedbackTheme.theme_id == service)).rowcount > 0
    r = load_respondents(sqlite_engine, text=True)
    waiting, staff = (r.theme_id(n) for n in ("Waiting time", "Staff"))
    assert r.rollups == {service: "Service"} and service not in r.themes and not r.unmentioned
    f = r.frame
    assert f[f"mention:{service}"].to_list() == (f[f"mention:{waiting}"] | f[f"mention:{staff}"]).to_list()
    assert f[f"negative:{service}"].sum() == f[f"negative:{waiting}"].sum() + f[f"negative:{staff}"].sum() > 0
    case = build_case(sqlite_engine, "Service", draws=50)
    assert case["theme"] == "Service" and case["mentions"] == 40
    assert simulate(sqlite_engine, ["Service=1.0"], draws=50)["delta"] > 0
    with pytest.raises(InputError, match="'Service' and its sub-theme 'Waiting time'"):
        simulate(sqlite_engine, ["Service=0.5", "Waiting time=0.5"], draws=50)
    _, _, notes = theme_driver_frame(sqlite_engine, target="nps")[:3]
    assert not any("Service" in n for n in notes)


def test_a_detractor_is_unhappy_on_its_own_scale() -> None:
    """Revenue at risk counts the complainers who are detractors. "rating <= 2" missed a 3 or 4 of 10
    (Skytrax seat reviews are 1-10): the bottom two fifths of each scale."""
    from cxchange.decide.data import detractor

    frame = pl.DataFrame(
        {"nps": [None, None, None, None, None, 6, 7, None],
         "csat": [None, None, None, None, None, None, None, 2],
         "rating": [3.0, 4.0, 5.0, 2.0, 3.0, None, None, None],
         "rating_scale": [10, 10, 10, 5, 5, None, None, None]}
    )  # fmt: skip
    assert frame.select(detractor().fill_null(False)).to_series().to_list() == [
        True, True, False, True, False, True, False, True,
    ]  # fmt: skip
