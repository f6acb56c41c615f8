"""simulate, opportunities, business-case and the decide API from outside, on the demo company."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine


def cx(*args: str, db: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CXCHANGE_DATABASE_URL": db}
    return subprocess.run(
        [sys.executable, "-m", "cxchange", *args], capture_output=True, text=True, env=env, timeout=300
    )


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_simulate_json_and_errors(demo_engine: Engine) -> None:
    run = cx(
        "simulate", "--fix", "Waiting time=0.5", "--fix", "Billing", "--format", "json", db=_url(demo_engine)
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    keys = {"baseline_nps", "projected_nps", "delta", "ci_low", "ci_high", "customers_affected", "method"}
    assert keys | {"assumptions"} <= set(out)
    assert out["ci_low"] <= out["projected_nps"] <= out["ci_high"] and out["delta"] > 0
    lever = json.loads(
        cx(
            "simulate", "--move", "detractors-to-passives=0.1", "--format", "json", db=_url(demo_engine)
        ).stdout
    )
    assert lever["delta"] > 0
    for bad, needle in (
        (["--fix", "Nope"], "Nope"),
        (["--fix", "Billing=2"], "between 0 and 1"),
        ([], "--fix"),
    ):
        run = cx("simulate", *bad, db=_url(demo_engine))
        assert run.returncode == 1 and needle in run.stderr and "Traceback" not in run.stderr


def test_opportunities_rank_with_the_formula(demo_engine: Engine) -> None:
    run = cx("opportunities", "--format", "json", db=_url(demo_engine))
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)
    keys = {
        "theme",
        "nps_gain",
        "ci_low",
        "ci_high",
        "customers",
        "trend",
        "revenue_at_risk",
        "effort",
        "priority",
    }
    assert keys <= set(rows[0])
    assert rows[0]["theme"] == "Waiting time"  # the planted biggest drag, effort not set anywhere
    assert [r["priority"] for r in rows] == sorted((r["priority"] for r in rows), reverse=True)
    table = cx("opportunities", db=_url(demo_engine)).stdout
    assert "priority = (" in table


def test_business_case_in_three_formats(demo_engine: Engine, tmp_path: Path) -> None:
    for name in ("case.md", "case.html", "case.pdf"):
        out = tmp_path / name
        run = cx("business-case", "Waiting time", "--cost", "50000", "--value-per-point", "20000",
                 "-o", str(out), db=_url(demo_engine))  # fmt: skip
        assert run.returncode == 0, run.stderr
        assert out.stat().st_size > 1000
    md = (tmp_path / "case.md").read_text()
    assert "Payback" in md and "Assumptions and risks" in md and "> " in md
    # The money with its interval, in Markdown as in HTML; the payback over it (Skytrax: "Payback: 10.5
    # months" from a change of +2.9 (+1.4 to +4.4) NPS points, which may take twice as long)
    assert "- Annual benefit: " in md and "(95 % CI " in md.split("- Annual benefit: ")[1].splitlines()[0]
    assert "over the benefit's interval" in md.split("- Payback: ")[1].splitlines()[0]
    assert "initiative create" in md and "--sponsor" in md and "--start" in md  # a command that can run
    html = (tmp_path / "case.html").read_text()
    assert "<svg" in html and "<script" not in html
    assert (tmp_path / "case.pdf").read_bytes()[:4] == b"%PDF"
    run = cx("business-case", "Waiting time", "-o", str(tmp_path / "case.docx"), db=_url(demo_engine))
    assert run.returncode == 1 and "--output" in run.stderr


def test_decide_api_returns_the_cli_json(demo_engine: Engine) -> None:
    from cxchange.testing import signed_in_client

    client = signed_in_client(_url(demo_engine), demo_engine)
    drivers = client.get("/api/drivers", params={"target": "nps", "from": "theme-sentiment", "boot": 50})
    assert drivers.status_code == 200, drivers.text
    body = drivers.json()
    assert {"target", "method", "n", "r2", "drivers"} <= set(body) and body["drivers"]
    sim = client.post("/api/simulate", json={"fix": ["Waiting time=0.5"], "draws": 200})
    assert sim.status_code == 200 and sim.json()["delta"] > 0
    opp = client.get("/api/opportunities")
    assert opp.status_code == 200 and opp.json()[0]["theme"]
    assert client.post("/api/simulate", json={"fix": ["Nope"]}).status_code == 404
