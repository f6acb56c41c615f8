"""The role tour on public data, as its users run it: does a manager see the same numbers of their units
through the CLI, the HTTP API, the Overview page and the executive report, and are the refusals clear?

Builds a fresh SQLite store in a temporary folder from ../shared/eval: the Datafiniti hotel reviews
(1-5 stars) under an org tree made from their provinces and cities (HQ > P-XX > C-XX-CITY > H-nnnn) and
the CFPB complaint narratives (no unit); discovers and analyses themes; adds an admin, a viewer and a
manager of California (P-CA); serves the app and asks it as each of them. Nothing is tuned here: every
number is a count or a score the commands give.

    python eval/tour_roles.py [--out eval/results/tour_roles.json]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "eval"
if not DATA.exists():
    DATA = Path("/work/shared/eval")
CX = str(Path(sys.executable).with_name("cxchange"))
MANAGER_UNIT = "P-CA"


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").upper()[:30] or "X"


def write_hotels(folder: Path) -> tuple[Path, Path]:
    """units.csv (HQ > province > city > hotel) and the reviews with a hotel_code column."""
    rows = list(csv.DictReader((DATA / "hotel_reviews_datafiniti.csv").open(encoding="utf-8")))
    units: dict[str, tuple[str, str, str]] = {"HQ": ("Hotels", "", "company")}
    codes: dict[tuple[str, str, str], str] = {}
    for r in rows:
        p, c, h = r["province"] or "NA", r["city"] or "NA", r["name"]
        pc, cc = f"P-{slug(p)}", f"C-{slug(p)}-{slug(c)}"
        units.setdefault(pc, (p, "HQ", "province"))
        units.setdefault(cc, (f"{c}, {p}", pc, "city"))
        code = codes.setdefault((p, c, h), f"H-{len(codes) + 1:04d}")
        units.setdefault(code, (h, cc, "hotel"))
        r["hotel_code"] = code
    unit_file, review_file = folder / "units.csv", folder / "hotels.csv"
    with unit_file.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["code", "name", "parent", "level"])
        out.writerows([code, *values] for code, values in units.items())
    with review_file.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return unit_file, review_file


def cx(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([CX, *args], env=env, capture_output=True, text=True, input=stdin, check=False)
    if done.returncode != 0 or "Traceback" in done.stderr:
        raise SystemExit(f"cxchange {' '.join(args)} failed: {done.stderr[-800:]}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(HERE / "results" / "tour_roles.json"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cx-tour-"))
    env = {**os.environ, "CXCHANGE_DATABASE_URL": f"sqlite:///{work / 'cx.db'}", "NO_COLOR": "1",
           "CXCHANGE_ADMIN_PASSWORD": "tour-admin-pass", "CXCHANGE_SECRET_KEY": "tour-secret"}  # fmt: skip
    result: dict[str, Any] = {"load_average_at_start": os.getloadavg()}
    server = None
    try:
        units, reviews = write_hotels(work)
        started = time.perf_counter()
        cx(env, "org", "import", str(units))
        cx(env, "import", str(reviews), "--source", "hotels", "--kind", "review")
        cx(
            env,
            "import",
            str(DATA / "cfpb_narratives_product4.csv"),
            "--source",
            "cfpb",
            "--kind",
            "complaint",
        )
        cx(env, "themes", "discover", "--source", "hotels", "--max-themes", "10", "--save")
        cx(env, "analyze")
        result["setup_seconds"] = round(time.perf_counter() - started, 1)
        tokens = {}
        people = (("admin", "admin@t.test", "admin", None), ("exec", "exec@t.test", "viewer", None),
                  ("manager", "mo@t.test", "manager", MANAGER_UNIT))  # fmt: skip
        for name, email, role, unit in people:
            extra = ("--unit", unit) if unit else ()
            cx(
                env,
                "user",
                "add",
                email,
                "--role",
                role,
                *extra,
                "--password-stdin",
                stdin="a-long-passphrase-1\n",
            )
            tokens[name] = re.search(r"cxt_[A-Za-z0-9_-]+", cx(env, "token", "create", email))[0]  # type: ignore[index]

        # The manager's numbers through each interface.
        cli = json.loads(cx(env, "scores", "--where", f"unit={MANAGER_UNIT}", "--format", "json"))[0]
        port = free_port()
        server = subprocess.Popen([CX, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        for _ in range(60):
            try:
                if httpx.get(base + "/api/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)

        def get(role: str, path: str, **params: Any) -> httpx.Response:
            headers = {"Authorization": f"Bearer {tokens[role]}"}
            return httpx.get(base + path, headers=headers, params=params, timeout=600)

        api = get("manager", "/api/scores").json()[0]
        page = get("manager", "/").text
        card = re.search(r"95 % CI ([\d.]+) – ([\d.]+) · n = (\d+)", page)
        report_path = work / "manager.html"
        cx(env, "report", "--as", "mo@t.test", "--output", str(report_path))
        report = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", report_path.read_text()))
        quarter = re.search(r"report (\d{4})-Q(\d)", report)
        result["manager_scores"] = {
            "cli": cli,
            "api": api,
            "overview_card": {"ci_low": float(card[1]), "ci_high": float(card[2]), "n": int(card[3])}
            if card
            else None,
            "agree": api == cli and bool(card) and int(card[3]) == cli["n"],  # type: ignore[index]
            "report_period": f"{quarter[1]}-Q{quarter[2]}" if quarter else None,
        }
        by_hotel = get("manager", "/api/scores", by="org:hotel", min_n=1).json()
        result["manager_hotels"] = {
            "hotels": len(by_hotel),
            "largest_ci_high": max(r["ci_high"] for r in by_hotel if r["ci_high"] is not None),
        }
        everyone = get("exec", "/api/scores").json()[0]
        result["viewer_scores_all_units"] = everyone

        # Refusals: another province, a whole-store route, a huge offset, too many bootstrap draws.
        asks = {
            "manager scores of P-TX": ("manager", "/api/scores", {"where": "unit=P-TX"}),
            "manager batches": ("manager", "/api/batches", {}),
            "manager overview of P-TX": ("manager", "/", {"unit": "P-TX"}),
            "manager surveys page": ("manager", "/surveys", {}),
            "feedback offset 1e20": ("exec", "/api/feedback", {"offset": 10**20}),
            "themes boot 20000": ("exec", "/api/themes", {"boot": 20_000}),
        }
        result["refusals"] = {}
        for name, (role, path, params) in asks.items():
            response = get(role, path, **params)
            body = (
                response.json()
                if response.headers.get("content-type", "").startswith("application/json")
                else {}
            )
            result["refusals"][name] = {
                "status": response.status_code,
                "detail": str(body.get("detail", ""))[:160],
            }

        started = time.perf_counter()
        themes = get("exec", "/api/themes", boot=2000)
        result["themes_boot_2000"] = {"status": themes.status_code, "themes": len(themes.json()),
                                      "seconds": round(time.perf_counter() - started, 1)}  # fmt: skip
        result["load_average_at_end"] = os.getloadavg()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    Path(args.out).write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
