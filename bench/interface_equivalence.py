"""Does a refactor leave the interfaces as they were? Compares this tree with a base revision:
every command's --help, the OpenAPI document, and the output and exit code of a scripted session of
commands (read-only and writing) on copies of one small demo database. Times, dates and signed survey
links differ between any two runs, so they are masked before comparing.

    .venv/bin/python bench/interface_equivalence.py --base main

Writes bench/results/interface_equivalence.json (what it printed) and nothing else outside a temporary
folder: the commands run there (a command that writes a file beside it, e.g. a business case, writes it
there), on the interpreter running this script and this checkout's src/ or the base's (PYTHONPATH)."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CLI = [str(Path(sys.executable).with_name("cxchange"))]  # the installed command; PYTHONPATH picks the tree
A, B = "abena.ahmed@larkspur.example", "abena.tanaka@larkspur.example"  # people of the seed-42 demo
SESSION = f"""
scores --by org:region
scores --by month --format csv
compare --by org:region --format json
feedback --limit 3 --format json
feedback --limit 3
batches
org show
org show --format json
themes import --builtin cx_default
themes list --format csv
initiative list --format json
initiative create --name Q --framework kotter --sponsor {A} --owner {B} --units R-EAST --start 2026-09-01 \
--pilot-units S-EAS-01 --control-units S-EAS-02
initiative show Q --format json
initiative update Q --vision Better
initiative step Q urgency --status doing
initiative status Q
initiative metric add Q --metric nps --target +5 --format json
initiative metric list Q
raci set Q Plan {A} A
raci set Q Plan {B} R --format json
raci show Q
raci check Q
comms add Q --audience R-EAST --channel email --sender {A} --date 2026-09-10 --message Hi
comms list Q --format json
comms sent Q 1
agents add Q {B}
agents list Q
agents managers Q
training add Q --title T --unit R-EAST --date 2026-09-12 --format json
training list Q
resistance add Q --unit R-EAST --description d --cause desire --owner {A}
resistance list Q
resistance update Q 1 --status addressed --format json
impact set Q R-EAST --processes 3
impact show Q
impact heatmap
readiness report Q
outcomes Q
outcomes set Q --before 180d
outcomes plan Q --format json
cases rule add --kind nps --max 3 --name low
cases scan
cases list --format json
cases stats
alerts rule add --metric nps --drop 5 --name drop
alerts rule list
alerts check
alerts --format json
themes add Foo -k foo --format json
themes rename Foo Bar
themes keywords Bar -k baz
themes split Bar --name Baz -k baz
themes merge Baz --into Bar --format json
themes delete Bar
recognition --format json
scorecard --format json
emerging
demo --if-empty
survey create --name S1 --kind nps --units S-EAS-01
survey list --format json
survey close S1
user list --format json
frameworks list
org import /nonexistent.csv
scores --format xml
""".strip().splitlines()
# Wall-clock values and per-run secrets: never the same twice.
VOLATILE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?|/s/[\w.-]+|\b\d+\.\d+ ?s\b")

DUMP = """
import json, sys
from typer.main import get_command
from typer.testing import CliRunner
from cxchange.api import create_app
from cxchange.cli import app
def walk(cmd, path=()):
    yield path
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from walk(sub, (*path, name))
runner = CliRunner()
helps = {" ".join(p): runner.invoke(app, [*p, "--help"], env={"COLUMNS": "120"}).output
         for p in walk(get_command(app))}
json.dump({"help": helps, "openapi": create_app("sqlite://").openapi()}, sys.stdout, sort_keys=True)
"""


def _env(src: Path, db: Path | None = None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(src), "COLUMNS": "120"}
    if db is not None:  # a session: tables wide enough that no time is wrapped past the mask
        env.update(CXCHANGE_DATABASE_URL=f"sqlite:///{db}", COLUMNS="1000")
    return env


def _session(src: Path, db: Path) -> list[dict[str, object]]:
    out = []
    for line in SESSION:
        run = subprocess.run(  # in the scratch folder: what a command writes beside it lands there
            [*CLI, *line.split()], env=_env(src, db), capture_output=True, text=True, cwd=db.parent
        )
        shown = VOLATILE.sub("<volatile>", run.stdout + run.stderr)
        out.append({"command": line, "exit": run.returncode, "output": shown})
    return out


def _openapi_differs(base: dict[str, Any], this: dict[str, Any]) -> list[dict[str, Any]]:
    """The operations and schemas whose description differs, each with whether only the order of its
    query parameters does (clients name them; the order is how /docs lists them)."""

    def by_name(operation: dict[str, Any]) -> dict[str, Any]:
        return {**operation, "parameters": sorted(operation.get("parameters", []), key=lambda p: p["name"])}

    out: list[dict[str, Any]] = []
    for path in sorted({*base["paths"], *this["paths"]}):
        was, now = base["paths"].get(path, {}), this["paths"].get(path, {})
        for method in sorted({*was, *now}):
            if was.get(method) != now.get(method):
                same_set = method in was and method in now and by_name(was[method]) == by_name(now[method])
                out.append({"operation": f"{method.upper()} {path}", "parameter_order_only": same_set})
    schemas = base.get("components", {}).get("schemas", {}), this.get("components", {}).get("schemas", {})
    for name in sorted({*schemas[0], *schemas[1]}):
        if schemas[0].get(name) != schemas[1].get(name):
            out.append({"schema": name, "parameter_order_only": False})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", default="main", help="Revision to compare with (default: main).")
    parser.add_argument("--rows", type=int, default=400, help="Demo feedback rows.")
    args = parser.parse_args()
    base_rev = subprocess.run(
        ["git", "merge-base", args.base, "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="cx-equiv-") as tmp:
        work = Path(tmp)
        archive = subprocess.run(
            ["git", "archive", base_rev, "src"], cwd=ROOT, capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(work)], input=archive.stdout, check=True)
        sides = {"base": work / "src", "this": ROOT / "src"}
        seed = work / "seed.db"
        demo = [*CLI, "demo", "--rows", str(args.rows), "--no-analyze", "--format", "json"]
        subprocess.run(demo, env=_env(sides["this"], seed), capture_output=True, check=True, cwd=work)
        found: dict[str, dict[str, Any]] = {}
        for side, src in sides.items():
            dumped = subprocess.run(
                [sys.executable, "-c", DUMP],
                env=_env(src),
                capture_output=True,
                text=True,
                check=True,
                cwd=work,
            )
            db = work / f"{side}.db"
            for suffix in ("", "-wal", "-shm"):  # SQLite may still hold pages in its write-ahead log
                if Path(f"{seed}{suffix}").exists():
                    shutil.copy(f"{seed}{suffix}", f"{db}{suffix}")
            found[side] = {**json.loads(dumped.stdout), "session": _session(src, db)}
    base, this = found["base"], found["this"]
    differing = [s["command"] for s, t in zip(base["session"], this["session"], strict=True) if s != t]
    result = {
        "base": base_rev,
        "commands_compared": len(this["help"]),
        "help_differs": sorted(k for k in this["help"] if base["help"].get(k) != this["help"][k]),
        "openapi_same": base["openapi"] == this["openapi"],
        "openapi_differs": _openapi_differs(base["openapi"], this["openapi"]),
        "session_commands": len(SESSION),
        "session_exit_0": sum(s["exit"] == 0 for s in this["session"]),
        "session_differs": differing,
    }
    text = json.dumps(result, indent=1)
    print(text)
    (ROOT / "bench" / "results" / "interface_equivalence.json").write_text(text + "\n")
    if result["help_differs"] or differing or not result["openapi_same"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
