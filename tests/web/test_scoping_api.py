"""Route by route: what a manager of R-NORTH gets from /api, and what each role may change.

Every /api route is either in CHECKED (it takes a UserScope and its answer is checked here to hold only
R-NORTH's data, or a 403 when another region is asked for), or it must refuse a manager with 403. A new
route that is neither fails `test_every_api_route_is_checked_or_refused`, so a route cannot leak silently.

Runs on a copy of the analysed demo company (regions R-NORTH, R-SOUTH, R-EAST, R-WEST with stores
beneath): see `scoping_world`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.web.scoping_world import NORTH, World, api_routes

from cxchange.testing import signed_in_client

pytestmark = pytest.mark.usefixtures("world_database")


def ok(response: Any) -> Any:
    assert response.status_code == 200, (response.request.url, response.status_code, response.text[:500])
    return response.json()


def forbidden(response: Any) -> None:
    assert response.status_code == 403, (response.request.url, response.status_code, response.text[:500])


# --- the routes that take a scope, each with its check ---------------------------------------------

Check = Callable[[World], None]
CHECKED: dict[tuple[str, str], Check] = {}


def checks(method: str, path: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        CHECKED[(method, path)] = fn
        return fn

    return register


@checks("GET", "/api/feedback")
def _feedback(w: World) -> None:
    rows = ok(w.manager.get("/api/feedback", params={"limit": 1000}))
    assert rows and {r["unit"] for r in rows} <= w.north
    for offset in (1000, 2000):
        more = ok(w.manager.get("/api/feedback", params={"limit": 1000, "offset": offset}))
        assert {r["unit"] for r in more} <= w.north
    store = sorted(c for c in w.north if c.startswith("S-"))[0]
    one = ok(w.manager.get("/api/feedback", params={"limit": 1000, "where": f"unit={store}"}))
    assert one and {r["unit"] for r in one} == {store}
    searched = ok(w.manager.get("/api/feedback", params={"limit": 1000, "q": "refund"}))
    assert searched and {r["unit"] for r in searched} <= w.north
    for where in ("unit=R-SOUTH", "org=S-SOU-01", "org_unit=HQ"):
        forbidden(w.manager.get("/api/feedback", params={"where": where}))
    forbidden(w.manager.get("/api/feedback", params={"where": [f"unit={NORTH}", "unit=R-SOUTH"]}))
    # a field written in another case is an attribute filter: the user's units still apply
    other = ok(w.manager.get("/api/feedback", params={"limit": 1000, "where": "region=South"}))
    assert {r["unit"] for r in other} <= w.north
    cased = ok(w.manager.get("/api/feedback", params={"limit": 1000, "where": f"UNIT={NORTH}"}))
    assert {r["unit"] for r in cased} <= w.north


@checks("GET", "/api/org")
def _org(w: World) -> None:
    tree = ok(w.manager.get("/api/org"))
    assert [n["code"] for n in tree] == [NORTH]
    seen, stack = set(), list(tree)
    while stack:
        node = stack.pop()
        seen.add(node["code"])
        stack.extend(node["children"])
    assert seen == w.north


@checks("GET", "/api/scores")
def _scores(w: World) -> None:
    mine = ok(w.manager.get("/api/scores"))
    everyone = ok(w.admin.get("/api/scores"))
    north = ok(w.admin.get("/api/scores", params={"where": f"unit={NORTH}"}))
    assert mine == north and mine[0]["n"] < everyone[0]["n"]
    by_region = ok(w.manager.get("/api/scores", params={"by": "org:region", "min_n": 1}))
    assert [r["group"] for r in by_region] == [{"org:region": "North"}]
    forbidden(w.manager.get("/api/scores", params={"where": "unit=R-SOUTH"}))


@checks("GET", "/api/compare")
def _compare(w: World) -> None:
    mine = ok(w.manager.get("/api/compare", params={"by": "org:region"}))
    assert [r["group"] for r in mine] == [{"org:region": "North"}] and mine[0]["n_other"] == 0
    stores = ok(w.manager.get("/api/compare", params={"by": "org:store"}))
    north = ok(w.admin.get("/api/compare", params={"by": "org:store", "where": f"unit={NORTH}"}))
    assert stores == north
    everyone = ok(w.admin.get("/api/compare", params={"by": "org:store"}))
    assert sum(r["n"] for r in stores) < sum(r["n"] for r in everyone)
    forbidden(w.manager.get("/api/compare", params={"by": "org:store", "where": "unit=R-SOUTH"}))


@checks("GET", "/api/themes")
def _themes(w: World) -> None:
    mine = ok(w.manager.get("/api/themes", params={"boot": 0}))
    north = ok(w.admin.get("/api/themes", params={"boot": 0, "where": f"unit={NORTH}"}))
    everyone = ok(w.admin.get("/api/themes", params={"boot": 0}))
    assert mine == north
    assert sum(t["count"] for t in mine) < sum(t["count"] for t in everyone)
    forbidden(w.manager.get("/api/themes", params={"where": "unit=R-SOUTH"}))


@checks("GET", "/api/emerging")
def _emerging(w: World) -> None:
    params = {"min_count": 1, "z": 1.0}
    mine = ok(w.manager.get("/api/emerging", params=params))
    north = ok(w.admin.get("/api/emerging", params={**params, "where": f"unit={NORTH}"}))
    everyone = ok(w.admin.get("/api/emerging", params=params))
    assert mine == north
    assert mine != everyone or not mine
    forbidden(w.manager.get("/api/emerging", params={"where": "unit=R-SOUTH"}))


@checks("POST", "/api/sentiment")
def _sentiment(w: World) -> None:  # scores the caller's own texts: no unit data in or out
    out = ok(w.manager.post("/api/sentiment", json=["Lovely staff", "Awful wait"]))
    assert [r["text"] for r in out] == ["Lovely staff", "Awful wait"]


@checks("GET", "/api/drivers")
def _drivers(w: World) -> None:
    mine = ok(w.manager.get("/api/drivers", params={"boot": 0}))
    north = ok(w.admin.get("/api/drivers", params={"boot": 0, "where": f"unit={NORTH}"}))
    everyone = ok(w.admin.get("/api/drivers", params={"boot": 0}))
    assert mine == north and mine["n"] < everyone["n"]
    forbidden(w.manager.get("/api/drivers", params={"where": "unit=R-SOUTH"}))


@checks("POST", "/api/simulate")
def _simulate(w: World) -> None:
    body = {"fix": ["Delivery"], "draws": 20}
    mine = ok(w.manager.post("/api/simulate", json=body))
    north = ok(w.admin.post("/api/simulate", json={**body, "where": [f"unit={NORTH}"]}))
    everyone = ok(w.admin.post("/api/simulate", json=body))
    assert mine == north and mine["n"] < everyone["n"]
    forbidden(w.manager.post("/api/simulate", json={**body, "where": ["unit=R-SOUTH"]}))


@checks("GET", "/api/opportunities")
def _opportunities(w: World) -> None:
    mine = ok(w.manager.get("/api/opportunities"))
    north = ok(w.admin.get("/api/opportunities", params={"where": f"unit={NORTH}"}))
    everyone = ok(w.admin.get("/api/opportunities"))
    assert [(r["theme"], r["customers"]) for r in mine] == [(r["theme"], r["customers"]) for r in north]
    for a, b in zip(mine, north, strict=True):  # money is summed in float: the last cent may differ
        assert a["revenue_at_risk"] == pytest.approx(b["revenue_at_risk"], abs=0.02)
    assert sum(r["customers"] for r in mine) < sum(r["customers"] for r in everyone)
    forbidden(w.manager.get("/api/opportunities", params={"where": "unit=R-SOUTH"}))


@checks("GET", "/api/frameworks")
def _frameworks(w: World) -> None:  # shipped documents, no unit data
    assert ok(w.manager.get("/api/frameworks")) == ok(w.admin.get("/api/frameworks"))


@checks("GET", "/api/frameworks/{name}")
def _framework(w: World) -> None:
    assert ok(w.manager.get("/api/frameworks/adkar")) == ok(w.admin.get("/api/frameworks/adkar"))


@checks("GET", "/api/initiatives")
def _initiatives(w: World) -> None:
    ids = {i["id"] for i in ok(w.manager.get("/api/initiatives"))}
    assert w.shared_initiative in ids and w.south_initiative not in ids


@checks("GET", "/api/initiatives/{initiative}")
def _initiative(w: World) -> None:
    assert ok(w.manager.get(f"/api/initiatives/{w.shared_initiative}"))["id"] == w.shared_initiative
    forbidden(w.manager.get(f"/api/initiatives/{w.south_initiative}"))


@checks("GET", "/api/initiatives/{initiative}/readiness")
def _readiness(w: World) -> None:
    path = f"/api/initiatives/{w.shared_initiative}/readiness"
    everyone = ok(w.admin.get(path))
    mine = ok(w.manager.get(path))
    assert mine and {r["group"] for r in mine} <= w.north
    assert {r["group"] for r in everyone} - w.north  # the admin does see the south
    forbidden(w.manager.get(f"/api/initiatives/{w.south_initiative}/readiness"))


@checks("GET", "/api/initiatives/{initiative}/readiness/trend")
def _readiness_trend(w: World) -> None:
    path = f"/api/initiatives/{w.shared_initiative}/readiness/trend"
    ok(w.manager.get(path))
    ok(w.manager.get(path, params={"unit": "S-NOR-01"}))
    forbidden(w.manager.get(path, params={"unit": "S-SOU-01"}))
    forbidden(w.manager.get(path, params={"unit": "HQ"}))
    forbidden(w.manager.get(f"/api/initiatives/{w.south_initiative}/readiness/trend"))


@checks("GET", "/api/scorecards")
def _scorecards(w: World) -> None:
    mine = ok(w.manager.get("/api/scorecards"))
    everyone = ok(w.admin.get("/api/scorecards"))
    assert mine and {r["unit"] for r in mine} <= w.north
    assert mine == [r for r in everyone if r["unit"] in w.north]
    regions = ok(w.manager.get("/api/scorecards", params={"by": "org:region"}))
    assert {r["unit"] for r in regions} <= {NORTH}


@checks("GET", "/api/cases")
def _cases(w: World) -> None:
    mine = ok(w.manager.get("/api/cases", params={"limit": 100_000}))
    north = ok(w.admin.get("/api/cases", params={"limit": 100_000, "unit": NORTH}))
    assert mine and {c["unit"] for c in mine} <= w.north
    assert sorted(c["id"] for c in mine) == sorted(c["id"] for c in north)
    forbidden(w.manager.get("/api/cases", params={"unit": "R-SOUTH"}))


@checks("GET", "/api/cases/stats")
def _case_stats(w: World) -> None:
    mine = ok(w.manager.get("/api/cases/stats"))
    north = ok(w.admin.get("/api/cases/stats", params={"unit": NORTH}))
    everyone = ok(w.admin.get("/api/cases/stats"))
    assert mine == north and mine[0]["cases"] < everyone[0]["cases"]
    by_unit = ok(w.manager.get("/api/cases/stats", params={"by": "unit"}))
    assert {r["group"]["unit"] for r in by_unit} <= w.north
    forbidden(w.manager.get("/api/cases/stats", params={"unit": "R-SOUTH"}))


@checks("GET", "/api/cases/{case_id}")
def _case(w: World) -> None:
    assert ok(w.manager.get(f"/api/cases/{w.north_case}"))["unit"] in w.north
    forbidden(w.manager.get(f"/api/cases/{w.south_case}"))


@checks("PATCH", "/api/cases/{case_id}")
def _case_update(w: World) -> None:
    forbidden(w.manager.patch(f"/api/cases/{w.south_case}", json={"note": "not mine"}))
    assert ok(w.manager.patch(f"/api/cases/{w.north_case}", json={"note": "called back"}))["unit"] in w.north


@checks("POST", "/api/cases/{case_id}/assign")
def _case_assign(w: World) -> None:
    forbidden(w.manager.post(f"/api/cases/{w.south_case}/assign", json={"email": "x@y.test"}))


@checks("GET", "/api/recognition")
def _recognition(w: World) -> None:
    mine = ok(w.manager.get("/api/recognition", params={"limit": 100_000}))
    everyone = ok(w.admin.get("/api/recognition", params={"limit": 100_000}))
    assert mine and {r["unit"] for r in mine} <= w.north
    assert len(mine) < len(everyone)
    forbidden(w.manager.get("/api/recognition", params={"unit": "R-SOUTH"}))


@checks("GET", "/api/outcomes/{id}")
def _outcome(w: World) -> None:  # the initiative page's rule: every compared unit must be theirs
    assert ok(w.manager.get(f"/api/outcomes/{w.north_initiative}"))["mode"] == "did"
    for other in (w.shared_initiative, w.pilot_initiative, w.south_initiative):
        forbidden(w.manager.get(f"/api/outcomes/{other}"))
    assert "compare units beyond yours" in w.manager.get(f"/api/outcomes/{w.pilot_initiative}").text


@checks("GET", "/api/outcomes/{id}/plan")
def _outcome_plan(w: World) -> None:
    ok(w.manager.get(f"/api/outcomes/{w.north_initiative}/plan"))
    forbidden(w.manager.get(f"/api/outcomes/{w.pilot_initiative}/plan"))


@checks("PUT", "/api/outcomes/{id}/settings")
def _outcome_settings(w: World) -> None:  # a change lead limited to R-NORTH changes only theirs
    lead = signed_in_client(w.app, w.engine, role="change-lead", units=[NORTH])
    forbidden(lead.put(f"/api/outcomes/{w.pilot_initiative}/settings", json={"cluster": "default"}))
    ok(lead.put(f"/api/outcomes/{w.north_initiative}/settings", json={"cluster": "default"}))
    forbidden(w.manager.put(f"/api/outcomes/{w.north_initiative}/settings", json={"cluster": "default"}))


# --- the tests --------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", sorted(CHECKED), ids=lambda r: f"{r[0]} {r[1]}")
def test_scoped_route_answers_with_the_managers_units_only(world: World, route: tuple[str, str]) -> None:
    assert route in api_routes(world.app), f"{route} is checked here but no longer exists"
    CHECKED[route](world)


def _sample_path(w: World, path: str) -> str:
    values = {
        "batch_id": "1",
        "name": "adkar",
        "initiative": str(w.shared_initiative),
        "id": str(w.shared_initiative),
        "case_id": str(w.north_case),
        "unit": "S-NOR-01",
        "step": "1",
        "comm": "1",
        "session": "1",
        "item": "1",
    }
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values.get(m.group(1), "1"), path)


def test_every_api_route_is_checked_or_refused(world: World) -> None:
    """A route not in CHECKED must answer a manager with 403: new routes are closed, not leaky."""
    routes = api_routes(world.app)
    assert len(routes) > 50  # the enumeration itself works
    leaks = []
    for method, path in routes:
        if path == "/api/health" or (method, path) in CHECKED:
            continue
        response = world.manager.request(method, _sample_path(world, path), json={})
        if response.status_code != 403:
            leaks.append(f"{method} {path} -> {response.status_code}: {response.text[:120]}")
    assert not leaks, "routes neither checked for scoping nor refused to a manager:\n" + "\n".join(leaks)


def test_the_refused_include_the_obvious_ones(world: World) -> None:
    ini = world.shared_initiative
    for path in ("/api/batches", "/api/batches/1/rejects", "/api/alerts", "/api/alerts/rules",
                 f"/api/outcomes/{ini}", "/api/cases/rules", "/api/cases/root-causes",
                 "/api/initiatives/heatmap", f"/api/cases/you-said-we-did/{ini}"):  # fmt: skip
        forbidden(world.manager.get(path))
        assert world.admin.get(path).status_code != 403


def test_a_manager_without_a_token_or_with_a_bad_one_is_nobody(world: World) -> None:
    bare = TestClient(world.app)
    assert bare.get("/api/feedback").status_code == 401
    assert bare.get("/api/feedback", headers={"Authorization": "Bearer cxt_nope"}).status_code == 401
    assert bare.get("/api/health").status_code == 200


# --- what each role may change ----------------------------------------------------------------------

CSV = b"id,When,NPS,Comment\n1,2025-03-01,9,Lovely\n"


def _import(client: TestClient) -> Any:
    return client.post(
        "/api/imports",
        files={"file": ("s.csv", CSV, "text/csv")},
        data={"source": "roles-test", "dry_run": "true"},
    )


def test_viewer_may_read_but_not_write(world: World) -> None:
    viewer = world.client("viewer")
    ok(viewer.get("/api/scores"))
    ok(viewer.post("/api/simulate", json={"fix": ["Delivery"], "draws": 10}))  # a what-if is a read
    forbidden(viewer.post("/api/initiatives", json={}))
    forbidden(viewer.patch(f"/api/initiatives/{world.shared_initiative}", json={"vision": "x"}))
    forbidden(_import(viewer))
    forbidden(viewer.patch(f"/api/cases/{world.north_case}", json={"note": "x"}))
    forbidden(viewer.post("/api/cases/rules", json={"kind": "nps", "max": 2}))
    forbidden(viewer.post("/api/alerts/check"))


def test_analyst_may_import_but_not_edit_initiatives(world: World) -> None:
    analyst = world.client("analyst")
    report = _import(analyst)
    assert report.status_code == 200, report.text
    forbidden(analyst.patch(f"/api/initiatives/{world.shared_initiative}", json={"vision": "x"}))
    forbidden(analyst.post("/api/initiatives", json={}))
    forbidden(analyst.post(f"/api/initiatives/{world.shared_initiative}/steps/1", json={"status": "done"}))


def test_change_lead_may_edit_initiatives_but_not_import(world: World) -> None:
    lead = world.client("change-lead")
    path = f"/api/initiatives/{world.shared_initiative}"
    assert ok(lead.patch(path, json={"vision": "Fewer queues"}))["vision"] == "Fewer queues"
    forbidden(_import(lead))
    forbidden(lead.post("/api/cases/rules", json={"kind": "nps", "max": 2}))


def test_manager_may_work_cases_but_not_change_anything_else(world: World) -> None:
    forbidden(_import(world.manager))
    forbidden(world.manager.patch(f"/api/initiatives/{world.shared_initiative}", json={"vision": "x"}))
    forbidden(world.manager.post("/api/cases/rules", json={"kind": "nps", "max": 2}))
