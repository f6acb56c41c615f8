"""The new-user tour of tourA, replayed: the installed `cxchange` as subprocesses on fresh SQLite stores,
on public exports nobody here wrote (../shared/eval): the Amazon Alexa reviews (1-5 stars, dates as
31-Jul-18, 16 device variants) and the banking77 requests (text and intent only).

    python eval/tour_products.py [--data DIR]

Records, per command, the exit code and what it printed that the tour's findings are about (rejected
rows, interval ends, the opportunities' gains and priorities, the outcome's caveats, the messages of
refused questions), with the load average and each command's seconds. Nothing is tuned here: the
commands run with their defaults, as a user runs them. Writes eval/results/tour_products.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_DATA = Path(os.environ.get("CXCHANGE_EVAL_DATA", ROOT.parent / "shared" / "eval"))
CX = str(Path(sys.executable).with_name("cxchange"))


class Store:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.env = {**os.environ, "CXCHANGE_DATABASE_URL": f"sqlite:///{folder / 'cx.db'}", "COLUMNS": "200"}
        self.log: list[dict[str, Any]] = []

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        began = time.perf_counter()
        done = subprocess.run([CX, *args], capture_output=True, text=True, env=self.env, cwd=self.folder)
        self.log.append(
            {"command": "cxchange " + " ".join(args), "exit": done.returncode,
             "seconds": round(time.perf_counter() - began, 2), "stderr": done.stderr.strip()[-600:]}
        )  # fmt: skip
        return done

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--format", "json").stdout)


def alexa(data: Path, folder: Path) -> dict[str, Any]:
    s, path = Store(folder), str(data / "product_reviews_amazon_alexa.csv")
    out: dict[str, Any] = {}
    dry = s.json("import", path, "--source", "alexa", "--dry-run")
    out["dry_run"] = {
        "read": dry["read"],
        "rejected": dry["rejected"],
        "date_formats": dry["dates"]["formats"],
    }
    done = s.json("import", path, "--source", "alexa")
    out["import"] = {k: done[k] for k in ("read", "imported", "rejected")}
    rows = s.json("scores", "--by", "attr:variation")
    out["scores_by_variation"] = {
        "groups": len(rows),
        "max_ci_high": max(r["ci_high"] for r in rows),
        "above_5": [r["group"]["attr:variation"] for r in rows if r["ci_high"] > 5],
    }
    refused = s.run("compare", "--by", "attr:variation", "--vs", "previous-period")
    out["compare_previous_period"] = {"exit": refused.returncode, "stderr": refused.stderr.strip()}
    july = s.json("compare", "--by", "attr:variation", "--vs", "previous-period", "--since", "2018-07-01")
    out["compare_since_july"] = {"rows": len(july), "with_previous": sum(1 for r in july if r["n_other"])}
    s.run("themes", "discover", "--save")
    s.run("analyze")
    ranked = s.json("opportunities")
    gains = [r["gain"] for r in ranked]
    out["opportunities"] = {
        "themes": len(ranked),
        "top5": [{k: r[k] for k in ("theme", "gain", "customers", "priority")} for r in ranked[:5]],
        "zero_gains": sum(1 for g in gains if g == 0),
        "zero_gains_with_complainers": sum(1 for r in ranked if r["gain"] == 0 and r["customers"]),
        "distinct_priorities": len({r["priority"] for r in ranked}),
    }
    top = ranked[0]["theme"]
    sim = s.json("simulate", "--fix", top)
    s.run(
        "business-case", top, "--cost", "50000", "--value-per-point", "20000", "-o", str(folder / "case.md")
    )
    money = [
        line for line in (folder / "case.md").read_text().splitlines() if line.startswith("- Annual benefit")
    ]
    out["business_case"] = {"theme": top, "simulated_delta": sim["delta"], "annual_benefit_line": money}
    report = s.run("report", "--output", str(folder / "report.html"))
    out["report"] = report.stdout.strip().splitlines()
    with open(path, encoding="utf-8") as f:
        variants = sorted({r["variation"] for r in csv.DictReader(f)})
    (folder / "units.csv").write_text(
        "code,name,parent,level\nALEXA,Alexa devices,,company\n"
        + "".join(f'V{i:02d},"{v}",ALEXA,variant\n' for i, v in enumerate(variants))
    )
    (folder / "people.csv").write_text("name,email,unit,role\nSam Sponsor,sam@alexa.test,ALEXA,exec\n")
    s.run("org", "import", str(folder / "units.csv"), "--people", str(folder / "people.csv"))
    s.run("org", "link", "variation")
    pilot, control = "V00,V01,V02,V03,V04", "V11,V12,V13,V14,V15"
    created = s.json(
        "initiative", "create", "--name", "Fix it", "--framework", "cx10", "--sponsor", "sam@alexa.test",
        "--owner", "sam@alexa.test", "--units", f"{pilot},{control}", "--pilot-units", pilot,
        "--control-units", control, "--start", "2018-07-01",
    )  # fmt: skip
    ini = str(created["id"])
    measure = s.json("initiative", "metric", "add", ini, "--metric", "rating", "--target", "+0.2")
    out["success_measure_status"] = {g: (measure[g] or {}).get("status") for g in ("pilot", "control")}
    outcome = s.json("outcomes", ini)
    out["outcome"] = {k: outcome[k] for k in ("did", "verdict", "window", "caveats")}
    out["outcome"]["pilot"] = {k: outcome["pilot"][k] for k in ("before", "after")}
    out["outcome"]["control"] = {k: outcome["control"][k] for k in ("before", "after")}
    s.run(
        "alerts", "rule", "add", "--metric", "rating", "--unit", "ALEXA", "--drop", "0.3", "--window", "30d"
    )
    checked = s.run("alerts", "check")
    out["alerts_check_stderr_lines"] = len(checked.stderr.strip().splitlines())
    out["alerts"] = s.run("alerts").stdout.strip()
    out["commands"] = s.log
    return out


def banking(data: Path, folder: Path) -> dict[str, Any]:
    s = Store(folder)
    done = s.json("import", str(data / "banking77_test.csv"), "--source", "bank")
    out: dict[str, Any] = {"import": {k: done[k] for k in ("read", "imported", "rejected")}}
    s.run("analyze")
    for name, args in (("scores", ("scores",)), ("emerging", ("emerging",))):
        r = s.run(*args)
        out[name] = {"exit": r.returncode, "stderr": r.stderr.strip()}
    out["commands"] = s.log
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    result: dict[str, Any] = {"load_average_before": os.getloadavg()}
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for name, tour in (("alexa", alexa), ("banking77", banking)):
            folder = Path(tmp) / name
            folder.mkdir()
            result[name] = tour(args.data, folder)
    result["seconds"] = round(time.perf_counter() - began, 1)
    result["load_average_after"] = os.getloadavg()
    out = HERE / "results" / "tour_products.json"
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"wrote {out} in {result['seconds']} s")


if __name__ == "__main__":
    main()
