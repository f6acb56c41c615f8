"""A pilot rolled out in waves, as a user records and reads it: `outcomes set ID --start-for UNIT=DATE`
per pilot store, then `outcomes ID` estimates each store from its own start (imputation estimator,
randomization over arrangements of the starts) instead of one TWFE coefficient; bad starts are refused
with one line. Subprocesses on a fresh database (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import random
from datetime import date, timedelta
from pathlib import Path

import pytest

from .conftest import Cx

PILOTS = [f"P{i}" for i in range(1, 9)]
CONTROLS = [f"C{i}" for i in range(1, 9)]
EFFECT = 25.0


def _month_start(d: date, months: int) -> date:
    m = d.year * 12 + d.month - 1 + months
    return date(m // 12, m % 12 + 1, 1)


def _files(folder: Path, first: date, second: date) -> tuple[Path, Path, Path]:
    units, people, survey = folder / "units.csv", folder / "people.csv", folder / "survey.csv"
    with units.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["code", "name", "parent", "level"])
        w.writerow(["CO", "Acme", "", "company"])
        w.writerows([c, f"Store {c}", "CO", "store"] for c in PILOTS + CONTROLS)
    with people.open("w", newline="") as fh:
        csv.writer(fh).writerows([["name", "email", "unit", "role"], ["Ada", "ada@acme.test", "CO", "exec"]])
    rng = random.Random(5)
    start_of = {c: (first if i % 2 == 0 else second) for i, c in enumerate(PILOTS)}
    with survey.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Response ID", "Submitted", "Store", "NPS"])
        k = 0
        for store in PILOTS + CONTROLS:
            level = rng.gauss(20.0, 8.0)
            day = _month_start(first, -12)
            end = _month_start(second, 4)
            while day < end:
                for _ in range(2):
                    nps = level + (EFFECT if store in start_of and day >= start_of[store] else 0.0)
                    p = min(max(0.35 + nps / 200.0, 0.02), 0.68)
                    u = rng.random()
                    score = 10 if u < p else (8 if u < p + 0.3 else 3)
                    w.writerow([f"R{k}", f"{day.isoformat()}T12:00:00", store, score])
                    k += 1
                day += timedelta(days=1)
    return units, people, survey


@pytest.mark.slow
def test_waves_are_estimated_from_each_units_start(cx: Cx) -> None:
    today = date.today()
    first, second = _month_start(today, -6), _month_start(today, -3)
    units, people, survey = _files(cx.workdir, first, second)
    cx.json("org", "import", str(units), "--people", str(people))
    cx.json("import", str(survey), "--source", "waves", "--map", "external_id=Response ID",
            "--map", "received_at=Submitted", "--map", "org_unit=Store", "--map", "nps=NPS")  # fmt: skip
    created = cx.json(
        "initiative", "create", "--name", "Waves", "--framework", "kotter", "--sponsor", "ada@acme.test",
        "--owner", "ada@acme.test", "--units", ",".join(PILOTS), "--pilot-units", ",".join(PILOTS),
        "--control-units", ",".join(CONTROLS), "--start", first.isoformat(),
    )  # fmt: skip
    iid = str((created[0] if isinstance(created, list) else created)["id"])
    late = [f"{c}={second.isoformat()}" for c in PILOTS[1::2]]
    stored = cx.json("outcomes", "set", iid, *(a for s in late for a in ("--start-for", s)))
    assert stored["starts"] == {c: second.isoformat() for c in PILOTS[1::2]}
    assert set(stored["changed"]) == {f"start:{c}" for c in PILOTS[1::2]}

    out = cx.json("outcomes", iid, "--before", "365d", "--after", "120d")
    assert out["method"].startswith("staggered rollout: imputation estimator")
    assert out["inference"]["waves"] == [
        {"month": first.isoformat()[:7], "clusters": 4},
        {"month": second.isoformat()[:7], "clusters": 4},
    ]
    assert out["ci_low"] <= EFFECT <= out["ci_high"] and out["verdict"] == "improved"
    assert out["window"]["after"][1] >= (second + timedelta(days=119)).isoformat()

    refused = cx.run("outcomes", "set", iid, "--start-for", "C1=" + second.isoformat(), ok=False)
    assert "not a pilot unit" in refused.err
    early = (first - timedelta(days=1)).isoformat()
    assert (
        "before the initiative's start"
        in cx.run("outcomes", "set", iid, "--start-for", f"P2={early}", ok=False).err
    )
    assert "YYYY-MM-DD" in cx.run("outcomes", "set", iid, "--start-for", "P2=soon", ok=False).err
    # An empty window given is refused alike by the reading and by its plan (the plan took the stored one).
    for reading in (("outcomes", iid), ("outcomes", "plan", iid)):
        assert "--before wants a span like 30d" in cx.run(*reading, "--before", "", ok=False).err
