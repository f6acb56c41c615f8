"""Fuzzing every API operation as each role, against a real server on the demo: server errors and slow
answers (the hardening issue's target: 0 responses with a 5xx, 0 over 2 s).

    python bench/fuzz.py [--rows 20000] [--examples 10] [--workers 2] [--seconds 2]

Builds (once) an analysed demo database of `--rows` feedback rows, starts `cxchange serve` in its own
process, and for each role (admin, analyst, change-lead, a manager of one region, viewer) runs
schemathesis' own command line (`st run`) over /openapi.json with that role's Bearer token, checking
`not_a_server_error` and `max_response_time`. Per-user rate limits answer 429 under fuzzing; that is
counted, not a failure. Results: bench/results/fuzz.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from web import ensure_db, start_server  # noqa: E402

ROLES = (
    ("admin", ()),
    ("analyst", ()),
    ("change-lead", ()),
    ("manager", ("R-NORTH",)),
    ("viewer", ()),
)


def role_tokens(url: str) -> dict[str, str]:
    from cxchange.auth.service import add_user, create_token, list_users
    from cxchange.core.db import get_engine

    engine = get_engine(url)
    known = {u["email"] for u in list_users(engine)}
    out = {}
    for role, units in ROLES:
        email = f"fuzz-{role}@bench.local"
        if email not in known:
            add_user(engine, email, role, units=units, actor="bench")
        out[role] = create_token(engine, email, name="fuzz")
    return out


def _events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def fuzz_role(base: str, token: str, role: str, examples: int, seconds: float, out: Path) -> dict:
    """One `st run` as `role`: failures by check, and every response's time from the NDJSON events."""
    events = out / f"{role}.ndjson"
    env = {**os.environ, "NO_COLOR": "1"}
    started = time.perf_counter()
    proc = subprocess.run(
        [
            str(Path(sys.executable).with_name("st")), "run", f"{base}/openapi.json",
            "-H", f"Authorization: Bearer {token}",
            "--checks", "not_a_server_error", "--max-response-time", str(seconds),
            "--max-examples", str(examples), "--seed", "1", "--workers", "1",
            "--continue-on-failure", "--request-timeout", "60",
            "--report", "ndjson", "--report-ndjson-path", str(events),
        ],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    wall = time.perf_counter() - started
    statuses: dict[str, int] = {}
    times: list[float] = []
    failures: dict[str, list[str]] = {}
    for event in _events(events):
        for interaction in _interactions(event):
            response = interaction.get("response") or {}
            status = response.get("status_code")
            if status is not None:
                statuses[str(status)] = statuses.get(str(status), 0) + 1
            elapsed = response.get("elapsed")
            if elapsed is not None:
                times.append(float(elapsed))
        for check in _failed_checks(event):
            failures.setdefault(check["name"], []).append(check["label"])
    times.sort()
    return {
        "role": role,
        "exit_code": proc.returncode,
        "wall_seconds": round(wall, 1),
        "responses": sum(statuses.values()),
        "by_status": dict(sorted(statuses.items())),
        "server_errors": sum(n for s, n in statuses.items() if s.startswith("5")),
        "over_limit": sum(1 for t in times if t > seconds),
        "max_seconds": round(times[-1], 3) if times else None,
        "p95_seconds": round(times[int(0.95 * (len(times) - 1))], 3) if times else None,
        "failed_checks": {k: sorted(set(v))[:20] for k, v in failures.items()},
        "summary": proc.stdout.strip().splitlines()[-12:],
    }


def _interactions(event: object) -> list[dict]:
    """Every recorded request/response pair anywhere in one NDJSON event (its layout varies by kind)."""
    found: list[dict] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("request"), dict) and isinstance(node.get("response"), dict):
                found.append(node)
                return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(event)
    return found


def _failed_checks(event: object) -> list[dict[str, str]]:
    """Each failed check in one event: its name and the operation with schemathesis' message."""
    out: list[dict[str, str]] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("status") == "failure" and isinstance(node.get("name"), str):
                failure = (node.get("failure_info") or {}).get("failure") or {}
                message = str(failure.get("message", "")).replace("\n", "; ")
                out.append({"name": node["name"], "label": f"{failure.get('operation', '?')}: {message}"})
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(event)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--db", type=Path, default=HERE / "out" / "fuzz.db")
    ap.add_argument("--examples", type=int, default=10)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=2.0)
    args = ap.parse_args()

    url = ensure_db(args.db, args.rows)
    tokens = role_tokens(url)
    # Fuzzing is a burst of requests from one user: lift the per-user rate limits for this server only,
    # so every generated request reaches the code it is meant to test (429s would hide server errors).
    os.environ.setdefault("CXCHANGE_SIMULATE_PER_MINUTE", "100000")
    os.environ.setdefault("CXCHANGE_ANALYSIS_PER_MINUTE", "100000")
    proc, base = start_server(url, args.workers)
    out = Path(tempfile.mkdtemp(prefix="cxchange-fuzz-"))
    try:
        results = [fuzz_role(base, tokens[r], r, args.examples, args.seconds, out) for r, _ in ROLES]
    finally:
        proc.terminate()
        proc.wait(30)
    if not all(r["responses"] for r in results):
        raise SystemExit("a fuzzing run recorded no responses: " + json.dumps(results)[:2000])
    load = os.getloadavg()
    report = {
        "rows": args.rows,
        "examples_per_operation": args.examples,
        "server_workers": args.workers,
        "response_limit_seconds": args.seconds,
        "load_average": [round(x, 2) for x in load],
        "roles": results,
        "server_errors": sum(r["server_errors"] for r in results),
        "over_limit": sum(r["over_limit"] for r in results),
        "responses": sum(r["responses"] for r in results),
    }
    for r in results:
        print(
            f"{r['role']:12s} {r['responses']:6d} responses  5xx {r['server_errors']:3d}  "
            f"> {args.seconds:g} s {r['over_limit']:3d}  max {r['max_seconds']} s  p95 {r['p95_seconds']} s  "
            f"statuses {r['by_status']}  ({r['wall_seconds']} s)"
        )
    print(
        f"all roles: {report['responses']} responses, {report['server_errors']} server errors, "
        f"{report['over_limit']} over {args.seconds:g} s (load average {load[0]:.1f})"
    )
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "fuzz.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
