"""Web benchmark: overview and explorer pages under concurrent load with 1,000,000 feedback rows in
SQLite, and the executive report's generation time. Same run, same machine.

    python bench/web.py [--rows 1000000] [--db bench/out/web1m.db] [--connections 8] [--seconds 20]
    python bench/web.py --postgres postgresql://postgres@127.0.0.1:5432/postgres [--rows 1000000]
    python bench/web.py --existing URL   (a database as it is, e.g. a 10M import of bench/ingest.py's
                                          export, unanalysed: results in web_existing_<rows>.json)

Load comes from wrk (Debian's package, a separate process on loopback; installed by this script with
apt when missing and run as root) for a bounded time per URL; without wrk, a bounded number of
requests from an asyncio httpx client. Anchor: /api/health through the same server and sign-in stack
(the floor any page pays). Targets (issue: web app): pages p95 < 300 ms; report < 30 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('JSON {"p50_ms":%.1f,"p95_ms":%.1f,"p99_ms":%.1f,"requests":%d,"errors":%d}\\n',
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.requests, e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def _cx(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cxchange", *args], capture_output=True, text=True, check=True
    )


def ensure_db(path: Path, rows: int) -> str:
    url = f"sqlite:///{path}"
    marker = path.with_suffix(".rows")
    if not path.exists() or not marker.exists() or marker.read_text() != str(rows):
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in path.parent.glob(path.name + "*"):
            shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
        _build_demo(url, rows)
        marker.write_text(str(rows))
    return url


def ensure_postgres_db(server_url: str, rows: int) -> str:
    """A database of its own on the PostgreSQL server (`cxchange_bench_web_<rows>`), built once and kept:
    the analysed demo at `rows` takes minutes to build, the measurement seconds."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"cxchange_bench_web_{rows}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    marker = HERE / "out" / f"{name}.rows"
    if exists and not marker.exists() and _built_rows(url) == rows:
        # Built by another checkout (bench/out is per work tree): a finished build is reused, not dropped.
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(str(rows))
    if not exists or not marker.exists() or marker.read_text() != str(rows):
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))  # name is ours
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        _build_demo(url, rows)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(str(rows))
    admin.dispose()
    return url


def _built_rows(url: str) -> int | None:
    """Feedback rows of a finished build (its analysis run done), None when unfinished or unreadable."""
    from sqlalchemy import create_engine, exc, text

    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            done = conn.scalar(text("SELECT count(*) FROM analysis_run WHERE status = 'done'"))
            n = conn.scalar(text("SELECT count(*) FROM feedback"))
        return int(n) if done else None
    except exc.SQLAlchemyError:
        return None
    finally:
        eng.dispose()


def stored_rows(url: str) -> int:
    """Feedback rows of a database measured as it is."""
    from sqlalchemy import create_engine, text

    from cxchange.core.db import normalise_url

    eng = create_engine(normalise_url(url))
    try:
        with eng.connect() as conn:
            return int(conn.scalar(text("SELECT count(*) FROM feedback")) or 0)
    finally:
        eng.dispose()


def _build_demo(url: str, rows: int) -> None:
    t = time.perf_counter()
    _cx("demo", "--rows", str(rows), "--db", url)
    print(f"built {rows:,}-row analysed demo in {time.perf_counter() - t:.0f} s", flush=True)


def tokens(url: str) -> dict[str, str]:
    from cxchange.auth.service import add_user, create_token, list_users
    from cxchange.core.db import get_engine
    from cxchange.org.tree import load_org_tree

    engine = get_engine(url)
    known = {u["email"] for u in list_users(engine)}
    out = {}
    people = (("bench-admin@bench.local", "admin", ()), ("bench-north@bench.local", "manager", ("R-NORTH",)))
    codes = {u.code for u in load_org_tree(engine).units.values()}
    for email, role, units in people:
        if not set(units) <= codes:
            continue  # a database without the demo's org units (an import): no manager pages
        if email not in known:
            add_user(engine, email, role, units=units, actor="bench")
        out[role] = create_token(engine, email, name="bench")
    return out


def start_server(url: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(Path(tempfile.gettempdir()) / "cxchange-bench-web.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cxchange",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--db",
            url,
        ],
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/api/health", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("server did not start; see " + log.name)


def have_wrk() -> bool:
    if shutil.which("wrk"):
        return True
    if shutil.which("apt-get") and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], capture_output=True, env=env)
    return bool(shutil.which("wrk"))


def load_wrk(url: str, token: str, connections: int, seconds: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", f.name,
         "-H", f"Authorization: Bearer {token}", url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    line = next(x for x in out.stdout.splitlines() if x.startswith("JSON "))
    return json.loads(line[5:])


async def _load_httpx(url: str, token: str, connections: int, count: int) -> dict[str, float]:
    times: list[float] = []
    errors = 0
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        queue = iter(range(count))

        async def worker() -> None:
            nonlocal errors
            for _ in queue:
                t = time.perf_counter()
                r = await client.get(url)
                times.append((time.perf_counter() - t) * 1000)
                errors += r.status_code >= 400

        await asyncio.gather(*(worker() for _ in range(connections)))
    q = statistics.quantiles(times, n=100)
    return {"p50_ms": q[49], "p95_ms": q[94], "p99_ms": q[98], "requests": len(times), "errors": errors}


def warm(url: str, token: str, workers: int) -> tuple[int, float]:
    """First hits build each worker's caches: send a few at once so every process gets one."""
    from concurrent.futures import ThreadPoolExecutor

    def hit(_: int) -> tuple[int, float]:
        t = time.perf_counter()
        code = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=300).status_code
        return code, (time.perf_counter() - t) * 1000

    with ThreadPoolExecutor(max(2, workers * 2)) as pool:
        got = list(pool.map(hit, range(max(2, workers * 2))))
    return max(c for c, _ in got), max(ms for _, ms in got)


def one_at_a_time(url: str, token: str, count: int = 15) -> float:
    """Median milliseconds of `count` requests sent one after another (no queueing behind other
    requests): what a page costs by itself, beside its latency under wrk's concurrent load."""
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=300) as client:
        times = []
        for _ in range(count):
            t = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 1)


def _next_link(html: str) -> str | None:
    import re

    tag = re.search(r'<a\b[^>]*\brel="next"[^>]*>', html)
    href = re.search(r'href="([^"]+)"', tag.group(0)) if tag else None
    return href.group(1).replace("&amp;", "&") if href else None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--db", type=Path, default=HERE / "out" / "web1m.db")
    ap.add_argument("--postgres", help="a PostgreSQL server URL: measure there instead of SQLite "
                    "(results in web_postgres.json)")  # fmt: skip
    ap.add_argument("--existing", help="a database URL to measure as it is (never built nor dropped here); "
                    "results in web_existing_<rows>.json")  # fmt: skip
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--seconds", type=int, default=20, help="per URL with wrk")
    ap.add_argument("--requests", type=int, default=400, help="per URL without wrk")
    ap.add_argument("--workers", type=int, default=2, help="server processes (the machine has 2 cores)")
    args = ap.parse_args()

    if args.existing:
        url, args.rows = args.existing, stored_rows(args.existing)
    elif args.postgres:
        url = ensure_postgres_db(args.postgres, args.rows)
    else:
        url = ensure_db(args.db, args.rows)
    tok = tokens(url)
    proc, base = start_server(url, args.workers)
    wrk = have_wrk()
    pages = [
        ("anchor /api/health", "/api/health", "admin"),
        ("overview", "/", "admin"),
        ("overview (manager R-NORTH)", "/", "manager"),
        ("explorer", "/feedback", "admin"),
        ("explorer negative + theme", "/feedback?sentiment=negative&theme=Waiting+time", "admin"),
        ("explorer search", "/feedback?q=refund", "admin"),
        ("explorer (manager R-NORTH)", "/feedback", "manager"),
        ("explorer page 50 (older)", None, "admin"),
    ]
    results: dict[str, object] = {"rows": args.rows, "load_tool": "wrk" if wrk else "httpx-asyncio",
                                  "connections": args.connections, "workers": args.workers,
                                  "database": "sqlite" if url.startswith("sqlite") else "postgresql",
                                  "existing_database": bool(args.existing),
                                  "load_average_before": os.getloadavg()}  # fmt: skip
    try:
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {tok['admin']}"}, timeout=120
        ) as c:
            older = "/feedback"
            for _ in range(50):  # follow the "older" (rel=next) links: deep pages must stay fast too
                link = _next_link(c.get(older).text)
                if link is None:
                    break
                older = link
            pages[-1] = ("explorer page 50 (older)", older, "admin")
        for name, path, who in pages:
            if path is None:
                continue
            if who not in tok:
                print(f"{name:32s} skipped: no unit R-NORTH in this database", flush=True)
                results[name] = {"skipped": "no unit R-NORTH in this database", "path": path}
                continue
            status, first = warm(base + path, tok[who], args.workers)
            if status != 200:
                print(f"{name:32s} answered HTTP {status}: skipped", flush=True)
                results[name] = {"status": status, "path": path}
                continue
            if wrk:
                stats = load_wrk(base + path, tok[who], args.connections, args.seconds)
            else:
                stats = asyncio.run(_load_httpx(base + path, tok[who], args.connections, args.requests))
            stats.update(first_ms=round(first, 1), status=status, path=path)
            stats["one_at_a_time_median_ms"] = one_at_a_time(base + path, tok[who])
            results[name] = stats
            print(f"{name:32s} p50 {stats['p50_ms']:7.1f} ms  p95 {stats['p95_ms']:7.1f} ms  "
                  f"p99 {stats['p99_ms']:7.1f} ms  n={stats['requests']}  errors={stats['errors']}  "
                  f"(first {first:.0f} ms; one at a time {stats['one_at_a_time_median_ms']:.0f} ms)",
                  flush=True)  # fmt: skip
    finally:
        proc.terminate()
        proc.wait(timeout=20)

    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("html", "pdf"):
            t = time.perf_counter()
            try:
                _cx("report", "--output", str(Path(tmp) / f"report.{fmt}"), "--db", url)
                took = time.perf_counter() - t
                results[f"report_{fmt}_s"] = round(took, 2)
                print(f"report .{fmt}: {took:.1f} s", flush=True)
            except subprocess.CalledProcessError as exc:
                results[f"report_{fmt}_error"] = exc.stderr.strip()[-300:]
                print(f"report .{fmt} failed: {exc.stderr.strip()[-300:]}", flush=True)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    results["load_average_after"] = os.getloadavg()
    name = (
        f"web_existing_{args.rows}.json"
        if args.existing
        else "web_postgres.json"
        if args.postgres
        else "web.json"
    )
    (out / name).write_text(json.dumps(results, indent=2))
    print(f"wrote {out / name}")


if __name__ == "__main__":
    main()
