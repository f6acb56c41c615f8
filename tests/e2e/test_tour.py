"""The README's tour and each stage's main path, as subprocesses, on a fresh non-demo database.

One test per database walks the whole loop in order (each step needs the ones before it):
org → import → scores → analyze → themes → emerging → drivers → simulate → opportunities →
business case → initiative → RACI → readiness → impact → status → outcomes → cases → recognition →
scorecard → alerts → report → serve + API. Every step must exit 0, print parseable JSON where asked,
and never print a traceback (see `Cx.run`).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import Cx
from .world import initiative_start, write_world

SURVEY_MAP = (
    "--map", "external_id=Response ID", "--map", "received_at=Submitted", "--map", "org_unit=Store",
    "--map", "nps=How likely to recommend (0-10)", "--map", "csat=Satisfaction (1-5)",
    "--map", "customer_id=Customer", "--map", "text=What could we do better?",
)  # fmt: skip


def _listen_and_measure(cx: Cx, files: dict[str, Path]) -> None:
    org = cx.json("org", "import", str(files["units"]), "--people", str(files["people"]))
    assert org  # counts of units and people
    dry = cx.run("import", str(files["feedback"]), "--source", "store-survey", *SURVEY_MAP, "--dry-run")
    assert "Store" in dry.out
    batch = cx.json("import", str(files["feedback"]), "--source", "store-survey", *SURVEY_MAP)
    batch = batch[0] if isinstance(batch, list) else batch
    assert batch["imported"] == 1200 and batch["rejected"] == 0, batch
    again = cx.json("import", str(files["feedback"]), "--source", "store-survey")  # the source remembers
    again = again[0] if isinstance(again, list) else again
    assert again["imported"] == 0 and again["duplicates"] == 1200, again
    assert cx.json("batches")
    by_month = cx.json("scores", "--metric", "nps", "--by", "month")
    assert 13 <= len(by_month) <= 16 and sum(r["n"] for r in by_month) == 1200
    by_depth = cx.json("scores", "--metric", "nps", "--by", "org:1")
    assert {r["group"]["org:1"] for r in by_depth} == {"North", "South"}
    by_attr = cx.json("scores", "--metric", "nps", "--by", "month", "--by", "attr:Region")
    assert {r["group"]["attr:Region"] for r in by_attr} == {"North", "South"}
    assert cx.json("scores", "--metric", "csat", "--by", "org:region")
    assert cx.json("compare", "--metric", "nps", "--by", "org:region", "--vs", "rest")
    assert cx.json("feedback", "--q", "refund", "--limit", "5")


def _understand(cx: Cx) -> None:
    cx.json("themes", "import", "--builtin", "cx_default")
    cx.run("analyze")
    themes = cx.json("themes", "--boot", "200")
    names = {t.get("theme") or t.get("name") for t in themes}
    assert {"Waiting time", "Billing"} <= names, names
    proposals = cx.json("themes", "discover", "--max-themes", "6", "--embedder", "tfidf")
    assert proposals
    cx.run("emerging", "--window", "30d", "--baseline", "12w")
    tagged = cx.json("feedback", "--theme", "Waiting time", "--limit", "5")
    assert tagged and all("Waiting time" in r["themes"] for r in tagged)


def _decide(cx: Cx, work: Path) -> None:
    drivers = cx.json("drivers", "--target", "nps", "--from", "themes", "--boot", "50")
    assert drivers
    sim = cx.json("simulate", "--fix", "Waiting time", "--draws", "200")
    assert sim
    assert cx.json("opportunities", "--draws", "100")
    case = work / "case.html"
    cx.run("business-case", "Waiting time", "--cost", "50000", "--value-per-point", "20000", "-o", str(case))
    assert case.stat().st_size > 1000


def _change(cx: Cx, files: dict[str, Path], start: date) -> int:
    created = cx.json(
        "initiative", "create", "--name", "Queue busting", "--framework", "kotter", "--theme", "Waiting time",
        "--sponsor", "ada@acme.test", "--owner", "ben@acme.test", "--units", "N,S", "--pilot-units", "N",
        "--control-units", "S", "--start", start.isoformat(),
    )  # fmt: skip
    initiative = created[0] if isinstance(created, list) else created
    iid = str(initiative["id"])
    cx.json("initiative", "metric", "add", iid, "--metric", "nps", "--target", "+5")
    cx.json("raci", "import", iid, str(files["raci"]))
    cx.run("raci", "check", iid)
    cx.json("readiness", "import", iid, str(files["readiness"]))
    readiness = cx.json("readiness", "report", iid, "--by", "unit")
    assert readiness
    cx.json("impact", "set", iid, "N1", "--processes", "4", "--systems", "2", "--job-roles", "3")
    cx.json("impact", "heatmap")
    status = cx.json("initiative", "status", iid)
    assert status
    return int(iid)


def _sustain(cx: Cx, iid: int, work: Path) -> None:
    outcome = cx.json("outcomes", str(iid), "--metric", "nps", "--before", "180d", "--after", "150d")
    assert outcome
    cx.json("cases", "rule", "add", "--kind", "nps", "--max", "3", "--name", "detractors")
    cx.run("cases", "scan")
    assert isinstance(cx.json("cases", "list"), list)
    cx.json("cases", "stats")
    cx.json("recognition", "--scan")
    assert cx.json("scorecard", "--period", "quarter", "--by", "org:store")
    cx.json("alerts", "rule", "add", "--metric", "nps", "--unit", "S", "--drop", "5", "--window", "30d")
    cx.json("alerts", "check")
    report = work / "report.html"
    cx.run("report", "--output", str(report))
    assert report.stat().st_size > 1000


def _serve_and_api(cx: Cx, iid: int, cxchange_server: Any) -> None:
    env = {"CXCHANGE_DATABASE_URL": cx.url, "CXCHANGE_ADMIN_PASSWORD": "e2e-admin-passphrase"}
    log = cx.workdir / "serve.log"
    with cxchange_server([], log, env, timeout=60) as (base, _):
        token = cx.run("token", "create", "admin@cxchange.local").out.strip().split()[-1]
        api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        assert api.get("/api/scores", params={"metric": "nps", "by": "month"}).status_code == 200
        found = api.get("/api/feedback", params={"q": "refund", "limit": 5})
        assert found.status_code == 200 and found.json()
        assert api.get(f"/api/outcomes/{iid}").status_code == 200
        assert api.get("/docs").status_code == 200
        assert httpx.get(f"{base}/api/scores", timeout=10).status_code == 401  # no token, no data
    assert "Traceback" not in log.read_text(), log.read_text()


def _managers_report(cx: Cx, work: Path) -> None:
    """After serving (the first user added makes the server skip creating its admin)."""
    # North's manager: North only, and the pilot-vs-control (South) comparison withheld with a note
    cx.run("user", "add", "priya@acme.test", "--role", "manager", "--unit", "N")
    north = work / "north.html"
    said = cx.run("report", "--as", "priya@acme.test", "--output", str(north))
    assert "North (N)" in said.out, said.out
    text = north.read_text(encoding="utf-8").replace("&#39;", "'")
    assert "compare units beyond yours (N, S)" in text and "<td>control</td>" not in text
    assert "<td>control</td>" in (work / "report.html").read_text(encoding="utf-8")  # the admin's
    refused = cx.run("report", "--as", "priya@acme.test", "--unit", "S", "-o", str(work / "s.html"), ok=False)
    assert "outside your units" in refused.err and not (work / "s.html").exists()


@pytest.mark.slow
def test_the_whole_loop_as_a_user_runs_it(cx: Cx, cxchange_server: Any) -> None:
    today = date.today()
    files = write_world(cx.workdir, today)
    _listen_and_measure(cx, files)
    _understand(cx)
    _decide(cx, cx.workdir)
    iid = _change(cx, files, initiative_start(today))
    _sustain(cx, iid, cx.workdir)
    _serve_and_api(cx, iid, cxchange_server)
    _managers_report(cx, cx.workdir)


@pytest.mark.slow
def test_a_fresh_database_answers_every_question_clearly(cx: Cx) -> None:
    """Before anything is imported, and with a source of only scores or only comments: a clear answer
    (a message and exit 1, or a real result), never a traceback and never an empty table with exit 0."""
    files = write_world(cx.workdir, date.today())
    cx.run("scores", "--metric", "nps", ok=False)
    no_taxonomy = cx.run("themes", "--format", "json")  # empty, and says why and what to do on stderr
    assert no_taxonomy.json() == [] and "cx_default" in no_taxonomy.err
    cx.run("drivers", "--target", "nps", "--from", "themes", ok=False)
    cx.run("outcomes", "1", ok=False)
    cx.run("import", str(files["comments_only"]), "--source", "notes", "--map", "external_id=id",
           "--map", "received_at=date", "--map", "text=comment")  # fmt: skip
    cx.run("import", str(files["scores_only"]), "--source", "pulse", "--map", "external_id=id",
           "--map", "received_at=date", "--map", "nps=nps")  # fmt: skip
    assert cx.json("scores", "--metric", "nps")[0]["n"] == 30
    cx.run("scores", "--metric", "csat", ok=False)  # no CSAT anywhere: said, not an empty table
    since = (date.today() - timedelta(days=7)).isoformat()
    cx.run("scores", "--metric", "nps", "--since", since, ok=False)  # nothing in that window
