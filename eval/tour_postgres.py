"""A team's tour on PostgreSQL, as its admin and users run it, compared with the same imports on SQLite.

The admin follows the README's team recipe: an empty PostgreSQL database of its own (named with
`tourpg`), settings from the environment, `cxchange db upgrade`, then `serve --workers 2`. The org has
three branches made from public exports nobody here wrote (../shared/eval): Datafiniti hotels of Texas
and New York (HQ > HOTELS > P-XX > C-XX-CITY > H-nnnn), the Skytrax airlines (HQ > AIRLINES > A-NAME,
overall rating 1-10) and the Zomato Hyderabad restaurants (HQ > FOOD > R-nnn); the Netflix app reviews
come without a unit. Users: an analyst, a change lead, an executive (viewer), a manager of Texas, a
manager of one airline and a front-line manager of one hotel.

Every command runs as a subprocess, once on PostgreSQL and once on a SQLite store holding the same
imports; the answers are compared key by key (scores, counts, search results, theme assignment, JSON
keys). Then the web app on PostgreSQL over two server processes: sign-in, CSRF, the sign-in limit
counted across both processes, and each scoped user's pages, export and report (HTTP, and Playwright
with Debian's chromium when it is installed). Nothing is tuned here: every number is one the commands
or pages give.

    python eval/tour_postgres.py [--out eval/results/tour_postgres.json] [--pg postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from tour_roles import CX, DATA, HERE, free_port, slug  # eval/ is on sys.path: the script's folder

PASSWORD = "a-long-passphrase-1"
PROVINCES = ("TX", "NY")
PER_SOURCE = 2000
SEARCHES = ("breakfast", "rude staff", "refund", "seat legroom", "biryani", "houston", "café")


def write_inputs(folder: Path) -> dict[str, Path]:
    """units.csv and one review file per source, each with a unit_code column where it has units."""
    units: dict[str, tuple[str, str, str]] = {
        "HQ": ("Group", "", "company"),
        "HOTELS": ("Hotels", "HQ", "division"),
        "AIRLINES": ("Airlines", "HQ", "division"),
        "FOOD": ("Restaurants", "HQ", "division"),
    }
    files: dict[str, Path] = {}

    def rows_of(name: str) -> list[dict[str, str]]:
        return list(csv.DictReader((DATA / name).open(encoding="utf-8")))

    def write(name: str, rows: list[dict[str, str]]) -> None:
        files[name] = folder / f"{name}.csv"
        with files[name].open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)

    hotels = [r for r in rows_of("hotel_reviews_datafiniti.csv") if r["province"] in PROVINCES][:PER_SOURCE]
    codes: dict[tuple[str, str], str] = {}
    for r in hotels:
        province, city = f"P-{r['province']}", f"C-{r['province']}-{slug(r['city'] or 'NA')}"
        hotel = codes.setdefault((city, r["name"]), f"H-{len(codes) + 1:04d}")
        units.setdefault(province, (r["province"], "HOTELS", "province"))
        units.setdefault(city, (f"{r['city']}, {r['province']}", province, "city"))
        units.setdefault(hotel, (r["name"], city, "hotel"))
        r["unit_code"] = hotel
    write("hotels", hotels)
    airlines = rows_of("skytrax_seat_reviews.csv")
    for r in airlines:
        code = f"A-{slug(r['airline_name'])}"
        units.setdefault(code, (r["airline_name"], "AIRLINES", "airline"))
        r["unit_code"] = code
    write("skytrax", airlines)
    food = rows_of("restaurant_reviews_zomato_hyderabad.csv")[:PER_SOURCE]
    names: dict[str, str] = {}
    for r in food:
        code = names.setdefault(r["Restaurant"], f"R-{len(names) + 1:03d}")
        units.setdefault(code, (r["Restaurant"], "FOOD", "restaurant"))
        r["unit_code"] = code
    write("zomato", food)
    write("netflix", rows_of("app_reviews_netflix_googleplay.csv")[:PER_SOURCE])
    files["people"] = folder / "people.csv"
    with files["people"].open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["email", "name", "unit", "role"])
        out.writerows(
            [
                ["exec@t.test", "Executive", "HQ", "executive"],
                ["lead@t.test", "Change lead", "HQ", "change lead"],
                ["tx@t.test", "Texas manager", "P-TX", "manager"],
            ]
        )
    files["units"] = folder / "units.csv"
    with files["units"].open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["code", "name", "parent", "level"])
        out.writerows([code, *values] for code, values in units.items())
    return files


IMPORTS = {
    "hotels": [
        "--kind",
        "review",
        "--map",
        "text=text",
        "--map",
        "rating=reviews.rating",
        "--map",
        "received_at=reviews.date",
        "--map",
        "org_unit=unit_code",
    ],
    "skytrax": [
        "--kind",
        "review",
        "--rating-scale",
        "10",
        "--map",
        "text=content",
        "--map",
        "rating=overall_rating",
        "--map",
        "received_at=date",
        "--map",
        "org_unit=unit_code",
    ],
    "zomato": [
        "--kind",
        "review",
        "--allow-mixed-scales",
        "--map",
        "text=text",
        "--map",
        "rating=Rating",
        "--map",
        "received_at=Time",
        "--map",
        "org_unit=unit_code",
        "--date-format",
        "%m/%d/%Y %H:%M",
    ],
    "netflix": ["--kind", "review", "--map", "text=text", "--map", "rating=score", "--map", "received_at=at"],
}


class Store:
    """One database, its commands run as subprocesses; every call is logged with its exit code."""

    def __init__(self, url: str, work: Path) -> None:
        self.url, self.work = url, work
        self.env = {
            **os.environ,
            "CXCHANGE_DATABASE_URL": url,
            "NO_COLOR": "1",
            "COLUMNS": "200",
            "CXCHANGE_SECRET_KEY": "tour-secret-the-same-in-every-process",
            "CXCHANGE_ADMIN_EMAIL": "admin@t.test",
            "CXCHANGE_ADMIN_PASSWORD": PASSWORD,
        }
        self.problems: list[dict[str, Any]] = []

    def run(self, *args: str, stdin: str | None = None, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [CX, *args], env=self.env, capture_output=True, text=True, input=stdin, cwd=self.work, check=False
        )
        if "Traceback" in done.stderr or (ok and done.returncode != 0):
            self.problems.append({"args": list(args), "exit": done.returncode, "stderr": done.stderr[-600:]})
        return done

    def json(self, *args: str) -> Any:
        done = self.run(*args, "--format", "json")
        try:
            return json.loads(done.stdout)
        except json.JSONDecodeError:
            return {"error": done.stderr.strip()[-300:], "exit": done.returncode}


def build(store: Store, files: dict[str, Path]) -> dict[str, Any]:
    """The admin's and the analyst's part: org, users, imports, analysis. Returns what they saw."""
    seen: dict[str, Any] = {}
    store.run("db", "upgrade")
    store.run("org", "import", str(files["units"]), "--people", str(files["people"]))
    seen["imports"] = {}
    for source, extra in IMPORTS.items():
        started = time.perf_counter()
        done = store.json("import", str(files[source]), "--source", source, *extra)
        keep = ("imported", "duplicates", "rejected", "warnings", "unknown_unit_rows", "read")
        seen["imports"][source] = {k: done.get(k) for k in keep} | {
            "seconds": round(time.perf_counter() - started, 1)
        }
    people = [
        ("ana@t.test", "analyst", None),
        ("lead@t.test", "change-lead", None),
        ("exec@t.test", "viewer", None),
        ("tx@t.test", "manager", "P-TX"),
        ("air@t.test", "manager", "A-EMIRATES"),
        ("front@t.test", "manager", "H-0001"),
    ]
    for email, role, unit in people:
        scoped = ["--unit", unit] if unit else []
        store.run("user", "add", email, "--role", role, *scoped, "--password-stdin", stdin=f"{PASSWORD}\n")
    started = time.perf_counter()
    store.run("themes", "discover", "--source", "hotels", "--max-themes", "8", "--save")
    store.run("analyze")
    seen["analysis_seconds"] = round(time.perf_counter() - started, 1)
    return seen


def ask(store: Store, files: dict[str, Path]) -> dict[str, Any]:
    """The same questions on any store; the answers are compared across back-ends."""
    a: dict[str, Any] = {}
    for source in IMPORTS:
        a[f"scores {source}"] = store.json("scores", "--where", f"source={source}")
        a[f"scores {source} by month"] = store.json(
            "scores", "--where", f"source={source}", "--by", "month", "--min-n", "1"
        )
    a["scores hotels by city"] = store.json(
        "scores", "--where", "source=hotels", "--by", "org:city", "--min-n", "1"
    )
    a["scores by airline"] = store.json(
        "scores", "--where", "source=skytrax", "--by", "org:airline", "--min-n", "1"
    )
    a["scores unit P-TX"] = store.json("scores", "--where", "unit=P-TX")
    a["scores attr city"] = store.json(
        "scores", "--where", "source=hotels", "--by", "attr:city", "--min-n", "1"
    )
    a["batches"] = [
        {k: b.get(k) for k in ("source", "read", "imported", "duplicates", "rejected")}
        for b in store.json("batches")
    ]
    for q in SEARCHES:
        rows = store.json("feedback", "--q", q, "--limit", "10000")
        a[f"search {q}"] = sorted(key_of(r) for r in rows) if isinstance(rows, list) else rows
    themes = store.json("themes")
    a["themes"] = themes
    a["theme names"] = (
        sorted(t.get("theme") or t.get("name") for t in themes) if isinstance(themes, list) else themes
    )
    rows = store.json("feedback", "--source", "hotels", "--limit", "10000")
    a["theme assignment hotels"] = (
        {key_of(r): sorted(str(t) for t in r.get("themes") or []) for r in rows}
        if isinstance(rows, list)
        else rows
    )
    a["sentiment hotels"] = {key_of(r): r.get("sentiment") for r in rows} if isinstance(rows, list) else rows
    a["drivers hotels"] = store.json("drivers", "--where", "source=hotels", "--from", "theme-sentiment")
    a["opportunities"] = store.json("opportunities", "--where", "source=hotels")
    a["emerging"] = store.json("emerging", "--where", "source=netflix", "--window", "30d", "--baseline", "8w")
    a["compare hotels by province"] = store.json(
        "compare", "--where", "source=hotels", "--by", "org:province", "--vs", "rest"
    )
    a["scorecard"] = store.json(
        "scorecard", "--period", "quarter", "--by", "org:division", "--as-of", "2017-01-01"
    )
    # CSV formula safety on every source: comments that begin with = + - @ (real ones: "- You access the
    # room…", "@govind was…") must come out of the export as text, not as a formula.
    everything = store.json("feedback", "--limit", "10000")
    raw = sum(1 for r in everything if (r.get("text") or "")[:1] in ("=", "+", "-", "@"))
    csv_text = store.run("feedback", "--limit", "10000", "--format", "csv").stdout
    texts = [r.get("text") or "" for r in csv.DictReader(io.StringIO(csv_text))]
    a["export"] = {
        "rows": len(texts),
        "comments_starting_like_a_formula": raw,
        "exported_cells_starting_like_a_formula": sum(1 for t in texts if t[:1] in ("=", "+", "-", "@")),
        "exported_cells_quoted": sum(1 for t in texts if t[:2] in ("'=", "'+", "'-", "'@")),
    }
    return a


def change_lead(store: Store) -> dict[str, Any]:
    out: dict[str, Any] = {}
    out["create"] = store.json(
        "initiative",
        "create",
        "--name",
        "San Antonio breakfast",
        "--framework",
        "kotter",
        "--sponsor",
        "exec@t.test",
        "--owner",
        "lead@t.test",
        "--units",
        "P-TX",
        "--pilot-units",
        "C-TX-SAN-ANTONIO",
        "--control-units",
        "C-TX-FORT-WORTH,C-TX-IRVING,C-TX-HOUSTON",
        "--start",
        "2016-01-01",
    )
    iid = str(out["create"].get("id", 1)) if isinstance(out["create"], dict) else "1"
    out["metric"] = store.run(
        "initiative", "metric", "add", iid, "--metric", "rating", "--target", "+0.2"
    ).returncode
    out["plan"] = store.json("outcomes", "plan", iid)
    out["plan_summary"] = out["plan"].get("summary") if isinstance(out["plan"], dict) else None
    out["outcomes"] = store.json("outcomes", iid)
    return out


def key_of(row: dict[str, Any]) -> str:
    """A row's identity on any back-end (ids are each database's own): its source and text."""
    return f"{row.get('source')}:{row.get('external_id') or ''}:{(row.get('text') or '')[:120]}"


def keys_of(value: Any) -> Any:
    if isinstance(value, dict):
        return sorted(value)
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return sorted({k for row in value for k in row})
    return type(value).__name__


def differences(left: Any, right: Any, path: str = "", tol: float = 1e-6) -> list[str]:
    """Every place the two answers differ (numbers within tol), as paths; at most 20 per question."""
    if isinstance(left, dict) and isinstance(right, dict):
        found = [
            f"{path}.{k}: only in {'sqlite' if k in left else 'postgresql'}" for k in set(left) ^ set(right)
        ]
        for k in sorted(set(left) & set(right), key=str):
            found += differences(left[k], right[k], f"{path}.{k}", tol)
        return found
    if isinstance(left, list) and isinstance(right, list):
        if len(left) != len(right):
            return [f"{path}: {len(left)} vs {len(right)} items"]
        return [
            d
            for i, (x, y) in enumerate(zip(left, right, strict=True))
            for d in differences(x, y, f"{path}[{i}]", tol)
        ]
    if isinstance(left, (int, float)) and isinstance(right, (int, float)) and not isinstance(left, bool):
        return [] if abs(left - right) <= tol * max(1.0, abs(left)) else [f"{path}: {left} vs {right}"]
    return [] if left == right else [f"{path}: {str(left)[:80]!r} vs {str(right)[:80]!r}"]


def sign_in(base: str, email: str, password: str) -> tuple[httpx.Client, int]:
    client = httpx.Client(base_url=base, timeout=300, follow_redirects=False)
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]*)"', page)
    form = {"email": email, "password": password, "csrf_token": token[1] if token else "", "next": "/"}
    return client, client.post("/login", data=form).status_code


def answers_health(base: str) -> bool:
    try:
        return httpx.get(base + "/api/health").status_code == 200
    except httpx.TransportError:
        return False


def web(store: Store, expect: dict[str, Any]) -> dict[str, Any]:
    """serve --workers 2 on the PostgreSQL store: sign-in, CSRF, shared limits, scoped pages."""
    out: dict[str, Any] = {}
    port = free_port()
    log = store.work / "serve.log"  # a file, not a pipe: a full pipe would stall the server
    server = subprocess.Popen(
        [CX, "serve", "--port", str(port), "--workers", "2"],
        env=store.env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while not answers_health(base) and time.monotonic() < deadline:
            time.sleep(0.5)
        # CSRF: a sign-in form without the token, a write without the session's token.
        bare = httpx.post(base + "/login", data={"email": "ana@t.test", "password": PASSWORD})
        out["login_without_csrf"] = bare.status_code
        analyst, status = sign_in(base, "ana@t.test", PASSWORD)
        out["analyst_sign_in"] = status
        out["analyst_write_without_csrf"] = analyst.post(
            "/api/cases/rules", json={"kind": "rating", "max": 2}
        ).status_code
        # The sign-in limit over two processes: new connections each time, spread by the kernel.
        statuses = [sign_in(base, "lead@t.test", "wrong-password-x")[1] for _ in range(8)]
        out["failed_sign_ins_statuses"] = statuses
        out["limited_after_failures"] = statuses.index(429) + 1 if 429 in statuses else None
        # Scoped users: every page and the export, and their numbers against the CLI's.
        pages = [
            "/",
            "/feedback",
            "/themes",
            "/decide",
            "/sustain",
            "/sustain/cases",
            "/initiatives",
            "/report",
        ]
        for email, unit, foreign in (
            ("tx@t.test", "P-TX", ("New York", "A-EMIRATES", "Emirates")),
            ("air@t.test", "A-EMIRATES", ("Houston", "Texas", "Biryani")),
            ("front@t.test", "H-0001", ("New York", "Emirates")),
            ("exec@t.test", None, ()),
        ):
            client, status = sign_in(base, email, PASSWORD)
            seen: dict[str, Any] = {"sign_in": status, "pages": {}}
            for path in pages:
                r = client.get(path)
                text = re.sub(r"<[^>]+>", " ", r.text)
                seen["pages"][path] = {
                    "status": r.status_code,
                    "foreign_names": [f for f in foreign if f in text],
                }
            export = client.get("/feedback.csv")
            rows = list(csv.DictReader(io.StringIO(export.text))) if export.status_code == 200 else []
            seen["export_rows"] = len(rows)
            seen["export_units"] = sorted({r.get("unit") or r.get("org_unit") or "" for r in rows})[:5]
            api = client.get("/api/scores").json()
            seen["api_scores"] = api[0] if isinstance(api, list) and api else api
            seen["cli_scores"] = expect.get(unit or "all")
            seen["api_agrees_with_cli"] = seen["api_scores"] == seen["cli_scores"]
            out[email] = seen
        out["playwright"] = browser(base)
    finally:
        server.terminate()  # the server stops its workers itself; a hang here is a finding, raised
        server.wait(timeout=60)
        out["server_tracebacks"] = log.read_text().count("Traceback")
    return out


def browser(base: str) -> dict[str, Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"skipped": "playwright not installed"}
    if not Path("/usr/bin/chromium").exists():
        return {"skipped": "no /usr/bin/chromium"}
    out: dict[str, Any] = {}
    with sync_playwright() as p:
        chrome = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = chrome.new_page()
        page.goto(base + "/login")
        page.fill("#email", "tx@t.test")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        out["after_sign_in"] = page.url.removeprefix(base)
        page.goto(base + "/feedback?q=breakfast")
        out["explorer_search_text"] = re.sub(r"\s+", " ", page.inner_text("main"))[:200]
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        for path in ("/", "/themes", "/decide"):
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
        out["console_errors"] = errors[:5]
        chrome.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(HERE / "results" / "tour_postgres.json"))
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cx-tourpg-"))
    db_name = f"cxchange_tourpg_{os.getpid()}"
    admin_url = args.pg
    pg_url = admin_url.rsplit("/", 1)[0] + "/" + db_name
    result: dict[str, Any] = {"load_average_at_start": os.getloadavg(), "rows_per_source": PER_SOURCE}
    import psycopg

    with psycopg.connect(admin_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db_name}"')
    try:
        files = write_inputs(work)
        stores = {
            "sqlite": Store(f"sqlite:///{work / 'cx.db'}", work),
            "postgresql": Store(pg_url.replace("postgresql://", "postgresql+psycopg://"), work),
        }
        answers: dict[str, dict[str, Any]] = {}
        for name, store in stores.items():
            started = time.perf_counter()
            result[f"{name} setup"] = build(store, files)
            answers[name] = ask(store, files)
            answers[name]["change lead"] = change_lead(store)
            result[f"{name} seconds"] = round(time.perf_counter() - started, 1)
        table = {}
        for question in answers["sqlite"]:
            left, right = answers["sqlite"][question], answers["postgresql"].get(question)
            found = differences(left, right)
            table[question] = {
                "same": not found,
                "same_keys": keys_of(left) == keys_of(right),
                "differences": found[:20],
                "count": len(found),
            }
        result["comparison"] = table
        # Documented differences (README, Search): PostgreSQL's search is accent-sensitive.
        documented = {"search café"}
        result["comparison_summary"] = {
            "questions": len(table),
            "same": sum(v["same"] for v in table.values()),
            "same_json_keys": sum(v["same_keys"] for v in table.values()),
            "different_documented": sorted(k for k, v in table.items() if not v["same"] and k in documented),
            "different_undocumented": sorted(
                k for k, v in table.items() if not v["same"] and k not in documented
            ),
        }
        result["answers_postgresql"] = {
            k: v
            for k, v in answers["postgresql"].items()
            if not k.startswith(("theme assignment", "sentiment", "search"))
        }
        result["search_hits"] = {q: {n: len(answers[n][f"search {q}"]) for n in answers} for q in SEARCHES}
        pg = stores["postgresql"]
        expect = {"all": answers["postgresql"]["scores netflix"]}
        for unit in ("P-TX", "A-EMIRATES", "H-0001"):
            got = pg.json("scores", "--where", f"unit={unit}")
            expect[unit] = got[0] if isinstance(got, list) and got else got
        expect["all"] = (pg.json("scores") or [None])[0]
        for email, unit in (("tx@t.test", "P-TX"), ("air@t.test", "A-EMIRATES")):
            path = work / f"report-{unit}.html"
            pg.run("report", "--as", email, "--output", str(path))
            text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", path.read_text())) if path.exists() else ""
            result[f"report as {email}"] = {
                "written": path.exists(),
                "mentions_other_branches": [
                    w
                    for w in ("Emirates", "Houston", "Zomato", "netflix")
                    if w in text and w not in ("Emirates" if unit == "A-EMIRATES" else "Houston")
                ],
            }
        result["web"] = web(pg, expect)
        result["problems"] = {n: s.problems for n, s in stores.items()}
        result["load_average_at_end"] = os.getloadavg()
    finally:
        shutil.rmtree(work, ignore_errors=True)
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    Path(args.out).write_text(json.dumps(result, indent=2, default=str, ensure_ascii=False) + "\n")
    summary = {k: v for k, v in result["comparison"].items() if not v["same"]}
    print(json.dumps({"differences": summary, "problems": result["problems"]}, indent=2, default=str)[:20000])


if __name__ == "__main__":
    main()
