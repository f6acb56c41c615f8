"""One verdict everywhere: the windows and cluster level stored on an initiative (audited) drive the CLI,
the API, the initiative page, the Sustain page and the executive report alike; `outcomes plan` gives
the minimum detectable effect of the design. On a copy of the session's demo (SQLite)."""

from __future__ import annotations

import html
import json
import math
import sqlite3

import numpy as np
import pytest
import typer
from sqlalchemy import Engine
from typer.testing import CliRunner

from cxchange.core.errors import InputError
from cxchange.demo.load import DEMO_INITIATIVE
from cxchange.sustain.outcome_design import OutcomeSettingsChange, set_settings, stored_settings
from cxchange.sustain.outcome_plan import plan
from cxchange.sustain.outcomes import outcomes


@pytest.fixture(scope="module")
def demo(demo_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    from cxchange.core.db import get_engine

    path = tmp_path_factory.mktemp("settings") / "cx.db"
    src, dst = sqlite3.connect(str(demo_engine.url.database)), sqlite3.connect(str(path))
    src.backup(dst)
    src.close()
    dst.close()
    return get_engine(f"sqlite:///{path}")


def _app() -> typer.Typer:
    from cxchange.sustain.cli_outcomes import register_outcomes

    app = typer.Typer(pretty_exceptions_enable=False, add_completion=False)

    @app.callback()
    def _root(ctx: typer.Context, db: str | None = typer.Option(None, "--db")) -> None:
        ctx.obj = {"db": db}

    register_outcomes(app)
    return app


def _cli(engine: Engine, *args: str) -> str:
    url = engine.url.render_as_string(hide_password=False)
    res = CliRunner(env={"COLUMNS": "250"}).invoke(_app(), ["--db", url, *args])
    assert res.exit_code == 0, res.output
    return res.output


def test_the_demo_pilot_of_one_region_against_another_cannot_tell(demo: Engine) -> None:
    """The demo pilots R-NORTH against R-SOUTH: one region against one, two possible assignments."""
    out = outcomes(demo, DEMO_INITIATIVE)
    assert out["verdict"] == "cannot tell with this design"
    assert out["inference"]["cluster_level"] == "region" and out["inference"]["assignments"] == 2
    assert "smallest possible p-value is 1.00" in out["verdict_reason"]
    assert "pilot and" in out["verdict_fix"] and "regions" in out["verdict_fix"]
    assert out["ci_low"] is None and out["summary"].startswith("cannot tell with this design")
    assert out["did"] > 0  # the planted effect is there; the design just cannot tell it from chance


def test_settings_are_stored_audited_and_used_by_every_surface(demo: Engine) -> None:
    from cxchange.api import create_app
    from cxchange.auth.service import list_audit
    from cxchange.report.build import build_report
    from cxchange.testing import signed_in_client

    assert stored_settings(demo, DEMO_INITIATIVE)["stored"] == []
    changed = set_settings(
        demo,
        DEMO_INITIATIVE,
        OutcomeSettingsChange(before="180d", after="120d", cluster="store"),
        actor="lead",
    )
    assert changed["changed"]["cluster"] == {"from": None, "to": "store"}
    entry = next(a for a in list_audit(demo, action="initiative.outcomes"))
    assert entry["actor"] == "lead" and entry["detail"]["before"] == {"from": None, "to": "180d"}

    ours = outcomes(demo, DEMO_INITIATIVE)
    assert ours["settings"]["stored"] == ["before", "after", "cluster"]
    assert ours["window"]["before"][0] == "2025-11-05"  # 180 days before 2026-05-04
    assert ours["inference"]["cluster_level"] == "store" and ours["inference"]["clusters"] == {
        "pilot": 10,
        "control": 10,
    }
    ini_id = ours["initiative"]["id"]
    cli = json.loads(_cli(demo, "outcomes", str(ini_id), "--format", "json"))
    assert cli == json.loads(json.dumps(ours))

    url = demo.url.render_as_string(hide_password=False)
    client = signed_in_client(create_app(url), demo, role="admin")
    assert client.get(f"/api/outcomes/{ini_id}").json() == cli
    summary = html.escape(ours["summary"])
    for page in (f"/initiatives/{ini_id}", f"/sustain?initiative={ini_id}"):
        res = client.get(page)
        assert res.status_code == 200 and summary in res.text, page
    report = build_report(demo)
    mine = next(i for i in report["initiatives"] if i["id"] == ini_id)
    nps = next(o for o in mine["outcomes"] if o["metric"] == "nps")
    assert (nps["summary"], nps["estimate"], nps["ci_low"], nps["verdict"]) == (
        ours["summary"],
        ours["did"],
        ours["ci_low"],
        ours["verdict"],
    )
    # an explicit window is an explicit override, and says so
    other = outcomes(demo, DEMO_INITIATIVE, before="365d")
    assert other["settings"]["overridden"] == ["before"]

    cleared = set_settings(
        demo, DEMO_INITIATIVE, OutcomeSettingsChange(before="default", after="default", cluster="default")
    )
    assert cleared["stored"] == [] and cleared["before"] == "365d"


def test_cli_set_and_bad_settings(demo: Engine) -> None:
    out = _cli(demo, "outcomes", "set", DEMO_INITIATIVE, "--after", "12w")
    assert "after 12w" in out and "changed" in out
    from cxchange.auth.service import list_audit

    assert list_audit(demo, action="initiative.outcomes")[0]["actor"].startswith("cli:")
    assert "unchanged" in _cli(demo, "outcomes", "set", DEMO_INITIATIVE, "--after", "12w")
    with pytest.raises(InputError, match="--before wants"):
        set_settings(demo, DEMO_INITIATIVE, OutcomeSettingsChange(before="a while"))
    with pytest.raises(InputError, match="no org level 'district'"):
        set_settings(demo, DEMO_INITIATIVE, OutcomeSettingsChange(cluster="district"))
    with pytest.raises(InputError, match="needs --before, --after, --cluster or --start-for"):
        set_settings(demo, DEMO_INITIATIVE, OutcomeSettingsChange())
    # pilot and control stores share their regions' level only if chosen by region: a company-level
    # cluster holds both, so it cannot be the level they were chosen at
    with pytest.raises(InputError, match="holds both pilot and control"):
        outcomes(demo, DEMO_INITIATIVE, cluster="company")
    set_settings(demo, DEMO_INITIATIVE, OutcomeSettingsChange(after="default"))


def test_plan_gives_the_minimum_detectable_effect(demo: Engine) -> None:
    regions = plan(demo, DEMO_INITIATIVE)
    assert regions["mde"] is None and "regions" in regions["fix"]
    assert regions["summary"].startswith("cannot tell with this design")
    stores = plan(demo, DEMO_INITIATIVE, cluster="store", before="180d")
    assert stores["clusters"] == {"pilot": 10, "control": 10}
    assert stores["mde"] is not None and stores["mde"] >= stores["mde_test"] > 0
    assert stores["placebo_start"] < "2026-05-04" and stores["window"]["after"][1] < "2026-05-04"
    text = _cli(demo, "outcomes", "plan", DEMO_INITIATIVE, "--cluster", "store", "--before", "180d")
    assert f"{stores['mde']:.1f} nps points" in text
    assert (
        stores["mde"] <= stores["plausible_effect"] == 30
        and stores["reason"] is None
        and "hopeless" not in text
    )


def test_a_plan_that_cannot_inform_says_so_and_what_would(demo: Engine) -> None:
    """One month before and after: an MDE of ~56 NPS points, beyond the 30 an initiative can plausibly
    move NPS by. Said as hopeless, with what would bring it to 30, computed from this design."""
    short = plan(demo, DEMO_INITIATIVE, cluster="store", before="30d", after="30d")
    assert short["mde"] > short["plausible_effect"] == 30
    assert short["reason"].startswith(f"hopeless: {short['mde']:.1f} nps points is more than")
    need = (short["mde"] / 30) ** 2
    assert short["fix"].startswith(f"to detect 30 nps points: about {math.ceil(10 * need)} pilot and ")
    text = _cli(
        demo, "outcomes", "plan", DEMO_INITIATIVE, "--cluster", "store", "--before", "30d", "--after", "30d"
    )
    assert "why: hopeless: " in text and short["fix"] + "\n" in text  # the fix on a line of its own
    csat = plan(demo, DEMO_INITIATIVE, metric="csat", cluster="store", before="30d", after="14d")
    assert csat["plausible_effect"] == 15 and csat["reason"].startswith("hopeless: ")


def test_informative_advice_is_computed_from_the_design() -> None:
    from cxchange.sustain.outcome_plan import informative_advice, noise_share

    # All of the spread answer noise: 4× the clusters, or 4× the answers (or windows 4× as long).
    advice = informative_advice(60, 30, 1.0, (10, 8), "stores", 100.0, (30, 45))
    assert advice == (
        "about 40 pilot and 32 control stores instead of 10 and 8, or 4.0× the answers per unit: about 400 "
        "a month instead of 100, or windows 4.0× as long (--before 120d --after 180d)"
    )
    # Half of it units differing: more answers leave that half, which alone exceeds the target's quarter.
    assert "more answers per unit cannot get there (answer-to-answer noise is 50%" in informative_advice(
        60, 30, 0.5, (10, 10), "stores", 100.0, (30, 30)
    )
    # Four groups of 100 answers of ±1: the DiD's sampling variance is 4 × 1/100 = 0.04.
    y = np.tile([1.0, -1.0], 4)
    w = np.full(8, 50.0)
    groups = [np.arange(8) // 2 == g for g in range(4)]
    assert noise_share(y, w, groups, null_sd=0.4) == pytest.approx(0.25)
    assert noise_share(y, w, groups, null_sd=0.1) == 1.0  # capped: no more than all of it


def test_api_stores_settings_as_the_signed_in_user(demo: Engine) -> None:
    from cxchange.api import create_app
    from cxchange.auth.service import list_audit
    from cxchange.testing import signed_in_client

    url = demo.url.render_as_string(hide_password=False)
    app = create_app(url)
    admin = signed_in_client(app, demo, role="admin")
    ini_id = outcomes(demo, DEMO_INITIATIVE, before="30d", after="30d")["initiative"]["id"]
    res = admin.put(f"/api/outcomes/{ini_id}/settings", json={"after": "100d"})
    assert res.status_code == 200, res.text
    assert res.json()["after"] == "100d" and res.json()["changed"]["after"]["to"] == "100d"
    entry = list_audit(demo, action="initiative.outcomes")[0]
    assert entry["actor"].startswith("admin") or "@" in entry["actor"]
    assert entry["detail"]["after"] == {"from": None, "to": "100d"}
    bad = admin.put(f"/api/outcomes/{ini_id}/settings", json={"before": "soon"})
    assert bad.status_code == 400 and "--before wants" in bad.text
    control = admin.put(f"/api/outcomes/{ini_id}/settings", json={"start_for": ["R-SOUTH=2026-01-01"]})
    assert control.status_code == 400 and "not a pilot unit" in control.text
    # Nothing to store, with or without a body: the service's own line, as `outcomes set` says it.
    for empty in ({}, {"json": {}}):
        res = admin.put(f"/api/outcomes/{ini_id}/settings", **empty)
        assert res.status_code == 400 and "needs --before, --after, --cluster or --start-for" in res.text
    manager = signed_in_client(app, demo, role="manager", units=["R-NORTH"])
    assert manager.put(f"/api/outcomes/{ini_id}/settings", json={"after": "90d"}).status_code == 403
    set_settings(demo, DEMO_INITIATIVE, OutcomeSettingsChange(after="default"))


@pytest.mark.parametrize("read", [outcomes, plan])
def test_a_given_empty_window_is_refused_by_every_reading(demo: Engine, read: object) -> None:
    """`outcomes` and `outcomes plan` choose their windows one way (given, else stored, else default):
    an empty --before is a bad window for both; plan read it as "not given" and used the stored one."""
    with pytest.raises(InputError, match="--before wants a span like 30d"):
        read(demo, DEMO_INITIATIVE, before="")  # type: ignore[operator]


def test_the_design_names_the_cluster_level_in_a_correct_plural() -> None:
    """The tour on hotels (pilot and control cities) read "compare at least 3 pilot and 5 control citys"."""
    from cxchange.org.tree import OrgTree, Unit
    from cxchange.sustain.outcome_design import cluster_map

    def plural_of(level: str) -> str:
        units = {1: Unit(1, "HQ", "HQ", None, "company", 0, "1")}
        units |= {i: Unit(i, f"U{i}", f"Unit {i}", 1, level, 1, f"1/{i}") for i in (2, 3)}
        return cluster_map(OrgTree(units), ["U2"], ["U3"], {2, 3}, None)[3]

    assert [plural_of(lv) for lv in ("city", "country", "store", "regions", "key", "bay")] == [
        "cities", "countries", "stores", "regions", "keys", "bays"
    ]  # fmt: skip
