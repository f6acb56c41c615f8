"""The Decide → Change → Sustain tour of tourC, replayed: the installed `cxchange` as subprocesses on fresh
SQLite stores with their own org, on public files nobody here wrote (../shared/eval): the Skytrax seat
reviews (overall_rating 1–10 read as an NPS-like 0–10 answer, five sub-ratings, `recommended`, 97 airlines
made units), the IBM telco churn file (19 attributes, `Churn` Yes/No, no text, no score) and the Netflix
Google Play reviews (1–5 stars, dates in a column named `at`).

    python eval/tour_decide.py [--data DIR]

Records, per command, the exit code and what the tour's findings are about: what the import guessed, the
driver tables next to a by-hand Shapley (LMG) over the same complete rows (numpy least squares over every
subset, independent of cxchange's sweep), the simulator's delta next to the arithmetic of its expectation,
the success measures, the empty Change listings, the outcome and the quarter-on-quarter NPS changes by
airline (interval ends). Nothing is tuned here: the commands run with their defaults, as a user runs
them. Writes eval/results/tour_decide.json.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import os
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import tour_products  # eval/ is the script's folder, first on sys.path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_DATA = Path(os.environ.get("CXCHANGE_EVAL_DATA", ROOT.parent / "shared" / "eval"))
SUB_RATINGS = ["seat_legroom_rating", "seat_recline_rating", "seat_width_rating", "aisle_space_rating"]
SUB_RATINGS += ["viewing_tv_rating"]
PILOT = ["british-airways", "emirates", "cathay-pacific-airways", "virgin-atlantic-airways", "lufthansa"]
CONTROL = ["air-france", "qantas-airways", "singapore-airlines", "etihad-airways", "american-airlines"]


class Store(tour_products.Store):
    """tourA's store (a fresh SQLite file, the log of commands), each command's log entry also saying
    whether it printed a traceback; `said` keeps what a refusal or a note printed."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.db = folder / "cx.db"
        self.env["NO_COLOR"] = "1"

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = super().run(*args)
        self.log[-1]["traceback"] = "Traceback" in done.stdout + done.stderr
        return done

    def said(self, *args: str) -> dict[str, Any]:
        done = self.run(*args)
        return {"exit": done.returncode, "stdout": done.stdout.strip()[:400], "stderr": done.stderr.strip()}


# --------------------------------------------------------------------------------------------------
# By hand


def _r2(x: np.ndarray, y: np.ndarray) -> float:
    if x.shape[1] == 0:
        return 0.0
    a = np.column_stack([np.ones(len(y)), x])
    beta, *_ = np.linalg.lstsq(a, y, rcond=None)
    e = y - a @ beta
    return float(1 - e.var() / y.var())


def lmg_by_hand(columns: dict[str, np.ndarray], target: np.ndarray) -> dict[str, Any]:
    """Shapley / LMG by refitting every subset (2^p least-squares fits) on the complete rows."""
    names = list(columns)
    x = np.column_stack([columns[c] for c in names])
    keep = ~np.isnan(x).any(axis=1) & ~np.isnan(target)
    x, y, p = x[keep], target[keep], len(names)
    out = {}
    for j, name in enumerate(names):
        others = [k for k in range(p) if k != j]
        total = 0.0
        for size in range(p):
            w = math.factorial(size) * math.factorial(p - size - 1) / math.factorial(p)
            for s in itertools.combinations(others, size):
                total += w * (_r2(x[:, [*s, j]], y) - _r2(x[:, list(s)], y))
        out[name] = total
    return {"n": int(keep.sum()), "r2": _r2(x, y), "lmg": out}


def _num(value: str) -> float:
    value = value.strip()
    if value.lower() in ("yes", "true"):
        return 1.0
    if value.lower() in ("no", "false"):
        return 0.0
    try:
        return float(value)
    except ValueError:
        return math.nan


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def compare_lmg(table: dict[str, Any], hand: dict[str, Any]) -> dict[str, Any]:
    got = {d["driver"]: d["importance"] for d in table["drivers"]}
    return {
        "n": [table["n"], hand["n"]],
        "r2": [round(table["r2"], 4), round(hand["r2"], 4)],
        "max_abs_diff": max(abs(got[k] - v) for k, v in hand["lmg"].items()),
        "importance": {k: round(v, 4) for k, v in got.items()},
    }


def expected_delta(db: Path, theme: str, share: float) -> dict[str, Any]:
    """The simulator's expectation by arithmetic: complainers (a mention of the theme with sentiment ≤
    −0.05) fixed with probability `share` take the NPS of those who do not complain (one source)."""
    con = sqlite3.connect(db)
    rows = con.execute(
        "SELECT f.nps, (SELECT MIN(ft.sentiment) FROM feedback_theme ft JOIN theme t ON t.id = ft.theme_id "
        "WHERE ft.feedback_id = f.id AND t.name = ?) FROM feedback f WHERE f.nps IS NOT NULL",
        (theme,),
    ).fetchall()
    con.close()
    nps = np.array([r[0] for r in rows], dtype=float)
    complains = np.array([r[1] is not None and r[1] <= -0.05 for r in rows])

    def score(v: np.ndarray) -> float:
        return float(100 * ((v >= 9).mean() - (v <= 6).mean()))

    delta = share * complains.mean() * (score(nps[~complains]) - score(nps[complains]))
    return {"complainers": int(complains.sum()), "n": len(nps), "expected_delta": round(delta, 2)}


# --------------------------------------------------------------------------------------------------
# The three stores


def skytrax(data: Path, folder: Path) -> dict[str, Any]:
    s, path = Store(folder), data / "skytrax_seat_reviews.csv"
    out: dict[str, Any] = {"dry_run_as_is": s.said("import", str(path), "--source", "skytrax", "--dry-run")}
    dry = s.json("import", str(path), "--source", "skytrax", "--dry-run", "--map", "nps=overall_rating")
    out["dry_run_mapping"] = dry.get("mapping")
    done = s.run("import", str(path), "--source", "skytrax", "--map", "nps=overall_rating")
    out["import_notes"] = done.stderr.strip().splitlines()
    out["scores"] = s.json("scores")
    s.run("analyze")
    s.run("themes", "discover", "--save")
    s.run("analyze")
    rows = _rows(path)
    hand_cols = {c: np.array([_num(r[c]) for r in rows]) for c in SUB_RATINGS}
    for target, column in (("nps", "overall_rating"), ("attr:recommended", "recommended")):
        drivers = s.run("drivers", "--from", "attrs:" + ",".join(SUB_RATINGS), "--target", target,
                        "--quadrant", "--format", "json")  # fmt: skip
        table = json.loads(drivers.stdout)
        hand = lmg_by_hand(hand_cols, np.array([_num(r[column]) for r in rows]))
        out[f"drivers_{column}"] = {
            **compare_lmg(table, hand), "notes": drivers.stderr.strip().splitlines(),
            "quadrants": {d["driver"]: d["quadrant"] for d in table["drivers"]},
        }  # fmt: skip
    themes = s.json("drivers", "--from", "themes")
    out["drivers_themes"] = {
        "r2": round(themes["r2"], 4),
        "top3": [d["driver"] for d in themes["drivers"][:3]],
    }
    ranked = s.json("opportunities")
    out["opportunities_top5"] = [
        {k: r[k] for k in ("theme", "nps_gain", "ci_low", "ci_high", "customers", "trend", "priority")}
        for r in ranked[:5]
    ]
    top = max(ranked, key=lambda r: r["nps_gain"])["theme"]
    sim = s.json("simulate", "--fix", top)
    out["simulate"] = {
        "theme": top, "delta": sim["delta"], "interval": [sim["delta_ci_low"], sim["delta_ci_high"]],
        "affected": sim["customers_affected"], "by_hand": expected_delta(s.db, top, 0.5),
    }  # fmt: skip
    s.run(
        "business-case", top, "--cost", "50000", "--value-per-point", "20000", "-o", str(folder / "case.md")
    )
    case = (folder / "case.md").read_text()
    out["business_case_money"] = [
        line for line in case.splitlines() if line.startswith(("- Annual", "- Pay"))
    ]
    airlines = sorted({r["airline_name"] for r in rows})
    (folder / "units.csv").write_text(
        "code,name,parent,level\nSKY,Airlines,,company\n"
        + "".join(f"{a},{a},SKY,airline\n" for a in airlines)
    )
    (folder / "people.csv").write_text(
        "name,email,unit,role\nSam Sponsor,sam@sky.test,SKY,exec\nOlly Owner,olly@sky.test,SKY,manager\n"
    )
    s.run("org", "import", str(folder / "units.csv"), "--people", str(folder / "people.csv"))
    out["org_link"] = s.said("org", "link", "airline_name")["stdout"]
    units = ",".join(PILOT + CONTROL)
    created = s.json(
        "initiative", "create", "--name", "Fix it", "--framework", "cx10", "--theme", top,
        "--sponsor", "sam@sky.test", "--owner", "olly@sky.test", "--units", units,
        "--pilot-units", ",".join(PILOT), "--control-units", ",".join(CONTROL), "--start", "2015-01-01",
    )  # fmt: skip
    ini = str(created["id"])
    out["initiative_from_a_driver"] = s.said(
        "initiative", "metric", "add", ini, "--metric", "attr:seat_legroom_rating", "--target", "+0.5"
    )
    measure = s.json("initiative", "metric", "add", ini, "--metric", "nps", "--target", "+5")
    out["success_measure"] = {
        g: {k: (measure[g] or {}).get(k) for k in ("change", "status", "met_confidently")}
        for g in ("pilot", "control")
    }
    out["success_measure"]["pilot_minus_control"] = measure.get("pilot_minus_control")
    table = s.run("initiative", "metric", "list", ini).stdout.splitlines()
    shown = [
        line.replace("│", " ").replace("┃", " ") for line in table if "baseline" in line or "pilot" in line
    ]
    out["success_measure_table"] = [" ".join(line.split()) for line in shown]
    out["raci_check"] = s.json("raci", "check", ini)
    out["status_raci"] = [
        line for line in s.run("initiative", "status", ini).stdout.splitlines() if "RACI" in line
    ]
    out["empty_listings"] = {
        " ".join(c): s.said(*c)
        for c in (
            ("raci", "show", ini), ("readiness", "report", ini), ("comms", "list", ini),
            ("agents", "list", ini), ("training", "list", ini), ("resistance", "list", ini),
            ("impact", "show", ini), ("alerts", "rule", "list"),
        )
    }  # fmt: skip
    out["outcomes_plan"] = s.said("outcomes", "plan", ini)["stdout"]
    outcome = s.json("outcomes", ini)
    out["outcome"] = {
        k: outcome.get(k) for k in ("did", "ci_low", "ci_high", "p_value", "verdict", "caveats")
    }
    out["outcome"]["pilot"] = {k: outcome["pilot"][k] for k in ("before", "after", "n_before", "n_after")}
    out["outcome"]["control"] = {k: outcome["control"][k] for k in ("before", "after", "n_before", "n_after")}
    moved = s.json("compare", "--metric", "nps", "--by", "org:airline", "--vs", "previous-period",
                   "--since", "2015-04-01", "--until", "2015-07-01")  # fmt: skip
    with_ci = [r for r in moved if r["ci_low"] is not None]
    out["quarter_change_by_airline"] = {
        "groups_with_interval": len(with_ci),
        "lowest_ci_low": min(r["ci_low"] for r in with_ci),
        "highest_ci_high": max(r["ci_high"] for r in with_ci),
        "zero_width": sum(1 for r in with_ci if r["ci_low"] == r["ci_high"]),
    }
    s.run(
        "alerts",
        "rule",
        "add",
        "--metric",
        "nps",
        "--unit",
        "british-airways",
        "--drop",
        "10",
        "--window",
        "90d",
    )
    out["alerts_check"] = s.said("alerts", "check")
    out["cases"] = s.said("cases", "list")["stdout"]
    report = s.run("report", "--output", str(folder / "report.html"))
    out["report"] = report.stdout.strip().splitlines()
    out["commands"] = s.log
    return out


def telco(data: Path, folder: Path) -> dict[str, Any]:
    s, path = Store(folder), data / "telco_customer_churn_ibm.csv"
    out: dict[str, Any] = {"import_as_is": s.said("import", str(path), "--source", "telco", "--dry-run")}
    default = s.run("drivers", "--file", str(path), "--target", "Churn", "--format", "json")
    table = json.loads(default.stdout)
    out["drivers_default"] = {
        "n": table["n"], "r2": round(table["r2"], 4),
        "drivers": [(d["driver"], round(d["importance"], 4), d["direction"]) for d in table["drivers"]],
        "notes": default.stderr.strip().splitlines(),
    }  # fmt: skip
    named = s.run("drivers", "--file", str(path), "--target", "Churn", "--predictors", "tenure,Contract",
                  "--format", "json")  # fmt: skip
    rows = _rows(path)
    contract = [r["Contract"] for r in rows]
    hand = lmg_by_hand(
        {
            "tenure": np.array([_num(r["tenure"]) for r in rows]),
            "Contract=One year": np.array([float(c == "One year") for c in contract]),
            "Contract=Two year": np.array([float(c == "Two year") for c in contract]),
        },
        np.array([_num(r["Churn"]) for r in rows]),
    )
    out["drivers_contract"] = (
        {**compare_lmg(json.loads(named.stdout), hand), "notes": named.stderr.strip().splitlines()}
        if named.returncode == 0
        else {"exit": named.returncode, "stderr": named.stderr.strip()}
    )
    several = "tenure,MonthlyCharges,Contract,InternetService,PaymentMethod,PaperlessBilling,SeniorCitizen"
    wide = s.run(
        "drivers", "--file", str(path), "--target", "Churn", "--format", "json", "--predictors", several
    )
    out["drivers_categories"] = (
        [(d["driver"], round(d["share_pct"], 1), d["direction"]) for d in json.loads(wide.stdout)["drivers"]]
        if wide.returncode == 0
        else {"exit": wide.returncode, "stderr": wide.stderr.strip()}
    )
    out["collinear"] = s.said("drivers", "--file", str(path), "--target", "Churn", "--boot", "0",
                              "--predictors", "InternetService,OnlineSecurity")  # fmt: skip
    done = s.json("import", str(path), "--source", "telco", "--kind", "ticket")
    out["import_as_tickets"] = {k: done[k] for k in ("read", "imported", "kept_without_text_or_score")}
    out["scores"] = s.said("scores")
    stored = s.run("drivers", "--from", "attrs:tenure,Contract", "--target", "attr:Churn", "--format", "json")
    out["stored_drivers_contract"] = (
        {d["driver"]: round(d["importance"], 4) for d in json.loads(stored.stdout)["drivers"]}
        if stored.returncode == 0
        else {"exit": stored.returncode, "stderr": stored.stderr.strip()}
    )
    out["commands"] = s.log
    return out


def netflix(data: Path, folder: Path) -> dict[str, Any]:
    s, path = Store(folder), data / "app_reviews_netflix_googleplay.csv"
    done = s.json("import", str(path), "--source", "netflix")
    out: dict[str, Any] = {"import_undated": done["undated"], "imported": done["imported"]}
    out["redate"] = s.said("redate", "at")["stdout"]
    out["scores"] = s.json("scores")
    s.run("analyze")
    s.run("themes", "discover", "--save")
    s.run("analyze")
    themes = s.json("drivers", "--from", "themes")
    out["drivers_themes"] = {
        "target": themes["target"], "n": themes["n"], "r2": round(themes["r2"], 4),
        "top5": [(d["driver"], round(d["importance"], 4), d["direction"]) for d in themes["drivers"][:5]],
    }  # fmt: skip
    ranked = s.json("opportunities")
    out["opportunities_top5"] = [
        {k: r[k] for k in ("theme", "gain", "customers", "trend")} for r in ranked[:5]
    ]
    sim = s.json("simulate", "--fix", ranked[0]["theme"])
    out["simulate"] = {k: sim[k] for k in ("metric", "baseline", "projected", "delta", "ci_low", "ci_high")}
    out["commands"] = s.log
    return out


TOURS = {"skytrax": skytrax, "telco": telco, "netflix": netflix}


def replay(data: Path) -> dict[str, Any]:
    """Every tour in a fresh folder (a store of its own), with the load and the wall time around them."""
    began, load = time.perf_counter(), os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        folders = {name: Path(tmp) / name for name in TOURS}
        for folder in folders.values():
            folder.mkdir()
        tours = {name: tour(data, folders[name]) for name, tour in TOURS.items()}
    logs = [c for tour in tours.values() for c in tour["commands"]]
    return {
        "load_average_before": load,
        **tours,
        "tracebacks": [c["command"] for c in logs if c["traceback"]],
        "seconds": round(time.perf_counter() - began, 1),
        "load_average_after": os.getloadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    result = replay(parser.parse_args().data)
    out = HERE / "results" / "tour_decide.json"
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"wrote {out} in {result['seconds']} s")


if __name__ == "__main__":
    main()
