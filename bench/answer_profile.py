"""Where a survey answer's server CPU goes (issue 21): `cxchange serve --workers 1` on a fresh SQLite
database, answered for --seconds by --threads Python clients (GET /s/TOKEN then POST, as
bench/surveys.py does), sampled by py-spy when it is installed (`pip install py-spy`; not a project
dependency). Prints and saves the server's CPU ms per answer and, with py-spy, the share of busy samples
under each cxchange function (inclusive; threads waiting on a lock, queue or socket left out).

    python bench/answer_profile.py [--seconds 20] [--threads 8]

Results: bench/results/answer_profile.json. CPU per answer is the robust number on a shared machine;
the rate and latencies move with the load average recorded beside them.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import surveys as bench  # noqa: E402  (bench/surveys.py: the same load, server and CPU accounting)

IDLE = ("Condition.wait", "EpollSelector.select", "Queue.get", "Event.wait", "Future.result", "sleep")


def shares(stacks: Path, top: int) -> list[tuple[str, float]]:
    """Inclusive share of busy samples per cxchange function, from py-spy's raw (collapsed) output."""
    busy: list[tuple[list[str], int]] = []
    for line in stacks.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        frames = stack.split(";")
        if stack and not any(i in frames[-1] for i in IDLE):
            busy.append((frames, int(n)))
    total = sum(n for _, n in busy) or 1
    counts: collections.Counter[str] = collections.Counter()
    for frames, n in busy:
        for name in {re.sub(r":\d+\)$", ")", f) for f in frames if "cxchange/" in f}:
            counts[name] += n
    return [(name, round(100 * n / total, 1)) for name, n in counts.most_common(top)]


def main() -> None:
    ap = argparse.ArgumentParser(description="Where a survey answer's server CPU goes.")
    ap.add_argument("--seconds", type=float, default=20, help="how long the clients answer")
    ap.add_argument("--threads", type=int, default=8, help="client threads (one process)")
    ap.add_argument("--top", type=int, default=30, help="functions listed")
    args = ap.parse_args()

    from cxchange.core.db import get_engine
    from cxchange.listen.surveys.service import create_survey
    from cxchange.listen.surveys.spec import SurveySpec
    from cxchange.org.tree import import_org_rows

    tmp = Path(tempfile.mkdtemp(prefix="cx-answer-profile-"))
    url = f"sqlite:///{tmp / 'answers.db'}"
    engine = get_engine(url)
    import_org_rows(engine, [{"code": c, "name": n, "parent": p} for c, n, p in bench.UNITS], [])
    survey = create_survey(
        engine, SurveySpec(name="bench", kind="nps", units=[c for c, _, p in bench.UNITS if p])
    )
    paths = [link["url"][link["url"].index("/s/") :] for link in survey["links"]]
    engine.dispose()
    port = bench._free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "CXCHANGE_DATABASE_URL": url, **bench.LOOSE}
    with (tmp / "server.log").open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cxchange", "serve", "--workers", "1", "--port", str(port), "--db", url],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip
    spy_path = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    stacks = tmp / "stacks.txt"
    results: dict[str, Any] = {"server": "cxchange serve --workers 1, SQLite", "threads": args.threads}
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if bench.httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                    break
            except bench.httpx.HTTPError:
                time.sleep(0.2)
        bench._worker((base, paths, time.time() + 2, 4, 9))  # warm: imports, caches, the first groups
        spy = None
        if Path(spy_path).exists():
            cmd = [spy_path, "record", "-p", str(proc.pid), "-r", "200", "-f", "raw", "-o", str(stacks),
                   "-d", str(int(args.seconds)), "--nonblocking"]  # fmt: skip
            spy = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cpu, load_before = bench.server_cpu_seconds(proc), os.getloadavg()[0]
        run = bench.load(base, paths, args.seconds, 1, args.threads)
        time.sleep(3)  # the background worker's merged after-commit work is counted too
        cpu = bench.server_cpu_seconds(proc) - cpu
        acked = len(run["acked"])
        results.update(
            answers=acked,
            answers_per_s=round(acked / args.seconds, 1),
            server_cpu_ms_per_answer=round(1000 * cpu / max(acked, 1), 2),
            post_p50_ms=bench._pct(run["post_s"], 0.5),
            post_p95_ms=bench._pct(run["post_s"], 0.95),
            status_counts=run["status"],
            load_average_before_after=[round(load_before, 2), round(os.getloadavg()[0], 2)],
        )
        if spy is not None:
            spy.wait(timeout=60)
            results["busy_share_percent"] = shares(stacks, args.top) if stacks.exists() else None
        else:
            results["busy_share_percent"] = "py-spy not installed"
    finally:
        bench.stop_server(proc)
        shutil.rmtree(tmp, ignore_errors=True)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "answer_profile.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
