"""The team path of `bench/ingest.py` (`--mode postgres`, `--mode cluster`), whole commands as run by a user.

postgres: `cxchange import` of the generated export into a fresh PostgreSQL database against `psql \\copy`
of the same CSV into a bare table (the physical floor: no validation, no keys, no indexes) and into
the same table with the unique key and the search index (equal work for the database: `INDEXES`; the
builds after `\\copy` get the import's own maintenance_work_mem, `BUILD_MEMORY`), the import's peak
RSS, then the first and second `scores --metric nps --by month --by attr:Region`. At 10M rows the
results go to ingest_postgres_10m.json.

cluster: `cxchange analyze` on PostgreSQL in one process against `cxchange analyze --scheduler` on a
`dask scheduler` with two `dask worker --nthreads 1` processes started here, on two databases holding
the same import; checks the stored sentiments and themes are identical. Beside each command's own CPU
seconds, those of the database's PostgreSQL backends and of the Dask scheduler and workers (sampled,
`CpuSampler`): on a shared machine they say where the work went when wall times swing with the load.

The machine may be shared: each result carries the 1-minute load average before and after.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cxchange.core.processes import stop_processes

Timed = Callable[..., dict[str, Any]]

# The export's columns as a bare table for `psql \copy` (types parsed by COPY, nothing else).
BARE_TABLE = """CREATE TABLE bare (
    response_id text, submitted_at timestamp, nps smallint, comment text, region text, store text,
    segment text, product text, channel text, customer_id text)"""


# The equal-work anchors: the same table with what any honest import must leave behind, the unique key
# and the search index (the expression of cxchange.listen.search.TSVECTOR_SQL, as migration 0013 has
# it). "indexed": both exist while `\copy` runs (PostgreSQL maintains them row by row); "then indexed":
# `\copy` into the bare table, then both built set-based in the same psql session (what our first load
# does). Neither validates, redacts, de-duplicates within the file nor keeps a roll-up.
INDEXES = (
    "ALTER TABLE bare ADD CONSTRAINT bare_key UNIQUE (response_id)",
    "CREATE INDEX bare_search ON bare USING gin (to_tsvector('simple'::regconfig, "
    "regexp_replace(coalesce(comment, ''), '[^[:alnum:]]+', ' ', 'g')))",
)


def load() -> float:
    return round(os.getloadavg()[0], 2)


@contextlib.contextmanager
def databases(admin_url: str, *names: str) -> Iterator[list[str]]:
    """Fresh PostgreSQL databases (dropped afterwards); yields their URLs. Named CXBENCH_DB_PREFIX
    (default cxbench) + name + pid: on a server shared by several people, each run's own prefix."""
    import psycopg

    base, _, _ = admin_url.rpartition("/")
    prefix = os.environ.get("CXBENCH_DB_PREFIX", "cxbench")
    made = [f"{prefix}_{n}_{os.getpid()}" for n in names]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for name in made:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # names are ours: fixed + pid
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield [f"{base}/{name}" for name in made]
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            for name in made:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_IN_PROCESS = """
import json, sys, time
from cxchange.core.db import get_engine
from cxchange.measure.service import ScoreQuery, grouped_counts
engine = get_engine(sys.argv[1])
q = ScoreQuery(metric="nps", by=("month", "attr:Region"))
out = {}
for path in ("rollup", "sql"):
    t = time.perf_counter()
    grouped_counts(engine, q, path=path)
    out[path + "_seconds"] = time.perf_counter() - t
print(json.dumps(out))
"""


def postgres_mode(
    cx: str, export: Path, admin_url: str, env: dict[str, str], timed: Timed, do_import: Timed, scores: Timed
) -> dict[str, Any]:
    import psycopg

    from cxchange.listen.pg_copy import BUILD_MEMORY

    out: dict[str, Any] = {"load_before": load()}
    keys = ("wall_seconds", "cpu_seconds", "rss_mb")
    with databases(admin_url, "cx", "bare", "indexed", "then") as (url, bare, indexed, then):
        for db in (bare, indexed, then):
            with psycopg.connect(db, autocommit=True) as conn:
                conn.execute(BARE_TABLE)
        with psycopg.connect(indexed, autocommit=True) as conn:
            for ddl in INDEXES:
                conn.execute(ddl)
        copy = f"\\copy bare FROM '{export}' WITH (FORMAT csv, HEADER true)"
        psql = timed(["psql", "-X", "-q", bare, "-c", copy], env, parse=False)
        out["psql_copy"] = {k: psql[k] for k in keys}
        out["import"] = do_import(cx, url, export, env)
        # One transaction each, as the import is one (-1: the \copy and the builds commit together).
        psql = timed(["psql", "-X", "-q", "-1", indexed, "-c", copy], env, parse=False)
        out["psql_copy_indexed"] = {k: psql[k] for k in keys}
        # The builds with the memory the import gives its own (listen/pg_copy.py): equal work, equal means.
        memory = f"SET maintenance_work_mem = '{BUILD_MEMORY}'"
        steps = ["-c", memory, *[arg for ddl in INDEXES for arg in ("-c", ddl)]]
        out["build_memory"] = BUILD_MEMORY
        psql = timed(["psql", "-X", "-q", "-1", then, "-c", copy, *steps], env, parse=False)
        out["psql_copy_then_indexed"] = {k: psql[k] for k in keys}
        out["scores_first"] = scores(cx, url, env)
        out["scores_second"] = scores(cx, url, env)
        # Where a whole command's time goes on a busy machine: the interpreter and imports (--help)
        # against the scores query alone, in process (the roll-up, then SQL over feedback).
        out["cxchange_help"] = {k: timed([cx, "--help"], env, parse=False)[k] for k in ("wall_seconds",)}
        out["scores_in_process"] = timed([sys.executable, "-c", _IN_PROCESS, url], env)["json"]
    imp = out["import"]
    out["ratio_import_vs_psql_copy"] = out["psql_copy"]["wall_seconds"] / imp["wall_seconds"]
    for anchor in ("indexed", "then_indexed"):
        out[f"ratio_import_vs_psql_copy_{anchor}"] = (
            out[f"psql_copy_{anchor}"]["wall_seconds"] / imp["wall_seconds"]
        )
    out["load_after"] = load()
    print(
        f"PostgreSQL import, whole command : {imp['wall_seconds']:.2f} s ({imp['imported']:,} rows, "
        f"peak RSS {imp['rss_mb']:.0f} MB; target < 500 MB); "
        f"psql \\copy {out['psql_copy']['wall_seconds']:.2f} s; "
        f"speed ratio {out['ratio_import_vs_psql_copy']:.2f}x (target >= 0.5x)"
    )
    print(
        f"equal work (unique key + search index): psql \\copy into the indexed table "
        f"{out['psql_copy_indexed']['wall_seconds']:.2f} s "
        f"({out['ratio_import_vs_psql_copy_indexed']:.2f}x), "
        f"\\copy then build both {out['psql_copy_then_indexed']['wall_seconds']:.2f} s "
        f"({out['ratio_import_vs_psql_copy_then_indexed']:.2f}x)"
    )
    print(f"cxchange timings: {imp['timings']}")
    print(
        f"scores nps by month x region on PostgreSQL: first {out['scores_first']['wall_seconds']:.2f} s "
        f"(target < 1.5 s), second {out['scores_second']['wall_seconds']:.2f} s; "
        f"cxchange --help {out['cxchange_help']['wall_seconds']:.2f} s; query alone: roll-up "
        f"{out['scores_in_process']['rollup_seconds']:.3f} s, SQL over feedback "
        f"{out['scores_in_process']['sql_seconds']:.2f} s; "
        f"load average {out['load_before']} -> {out['load_after']}"
    )
    return out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def dask_cluster(workers: int, folder: Path, pids: list[int] | None = None) -> Iterator[str]:
    """`dask scheduler` and `workers` × `dask worker --nthreads 1` on this machine; yields the address.
    `pids`: filled with the scheduler's and the workers' process ids (their CPU is sampled)."""
    from dask.distributed import Client

    dask = str(Path(sys.executable).with_name("dask"))
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = []
    with (folder / "dask.log").open("w") as log:
        try:
            cmd = [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]
            procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT))
            for i in range(workers):
                cmd = [dask, "worker", address, "--nthreads", "1", "--no-dashboard", "--name", f"w{i}"]
                procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT))
            deadline = time.monotonic() + 120
            while True:
                try:
                    with Client(address, timeout="5s") as client:
                        client.wait_for_workers(workers, timeout=60)
                    break
                except (OSError, TimeoutError):
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.5)
            if pids is not None:
                pids.extend(p.pid for p in procs)
            yield address
        finally:
            stop_processes(list(reversed(procs)), timeout=30)


class CpuSampler:
    """CPU seconds (user + system) of other processes while a command runs, sampled every `every`
    seconds by a thread: the PostgreSQL backends serving one database (their process title names it)
    and given processes with all their descendants (a `dask worker` is a nanny and its worker). A
    process's last sample is kept after it ends, so its final fraction of a sample is lost: lower bounds.
    On a shared machine the CPU seconds of each part say where the work went; wall time says little."""

    def __init__(self, database: str, groups: dict[str, list[int]] | None = None, every: float = 0.2) -> None:
        self._database, self._groups, self._every = database, groups or {}, every
        self._seen: dict[tuple[str, int], float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> CpuSampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            self._sample()

    def _sample(self) -> None:
        import psutil

        found: list[tuple[str, psutil.Process]] = []
        for proc in psutil.process_iter(["cmdline"]):
            title = " ".join(proc.info["cmdline"] or [])
            if title.startswith("postgres:") and f" {self._database} " in title:
                found.append(("postgres_backends", proc))
        for group, pids in self._groups.items():
            for pid in pids:
                with contextlib.suppress(psutil.Error):
                    top = psutil.Process(pid)
                    found += [(group, p) for p in (top, *top.children(recursive=True))]
        for part, proc in found:
            with contextlib.suppress(psutil.Error):
                t = proc.cpu_times()
                self._seen[(part, proc.pid)] = t.user + t.system

    def seconds(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for (part, _), cpu in self._seen.items():
            out[part] = out.get(part, 0.0) + cpu
        return out


def _result_digest(url: str) -> tuple[int, int, str]:
    """(sentiments, theme mentions, digest of both keyed by each comment's dedup key)."""
    import psycopg

    h = hashlib.sha256()
    with psycopg.connect(url) as conn:
        s = conn.execute(
            "SELECT f.dedup_key, s.score, s.label, s.language FROM feedback_sentiment s "
            "JOIN feedback f ON f.id = s.feedback_id ORDER BY f.dedup_key"
        ).fetchall()
        t = conn.execute(
            "SELECT f.dedup_key, th.name, ft.sentiment, ft.matched, ft.relevance FROM feedback_theme ft "
            "JOIN feedback f ON f.id = ft.feedback_id JOIN theme th ON th.id = ft.theme_id "
            "ORDER BY f.dedup_key, th.name"
        ).fetchall()
    for row in (*s, *t):
        h.update(repr(row).encode())
    return len(s), len(t), h.hexdigest()


def cluster_mode(
    cx: str, export: Path, admin_url: str, env: dict[str, str], timed: Timed, workers: int = 2
) -> dict[str, Any]:
    out: dict[str, Any] = {"load_before": load(), "workers": workers}
    with databases(admin_url, "single", "cluster") as (single, multi), tempfile.TemporaryDirectory() as tmp:
        for url in (single, multi):
            timed([cx, "--db", url, "import", str(export), "--source", "bench", "--format", "json"], env)
            timed([cx, "--db", url, "themes", "import", "--builtin", "cx_default", "--format", "json"], env)
        with CpuSampler(single.rpartition("/")[2]) as single_cpu:
            one = timed([cx, "--db", single, "analyze", "--backend", "fast", "--format", "json"], env)
        pids: list[int] = []
        with contextlib.ExitStack() as stack:
            address = stack.enter_context(dask_cluster(workers, Path(tmp), pids))
            # The cluster's own start-up CPU (interpreters, imports) is not the command's: counted from here.
            groups = {"dask_scheduler": pids[:1], "dask_workers": pids[1:]}
            cluster_cpu = stack.enter_context(CpuSampler(multi.rpartition("/")[2], groups))
            started = cluster_cpu.seconds()
            argv = [cx, "--db", multi, "analyze", "--backend", "fast", "--scheduler", address]
            many = timed([*argv, "--format", "json"], env)
        out["cpu_seconds"] = {
            "single_process": {"command": one["cpu_seconds"], **single_cpu.seconds()},
            "cluster": {"command": many["cpu_seconds"], **cluster_cpu.seconds()},
        }
        for group in groups:
            out["cpu_seconds"]["cluster"][group] -= started.get(group, 0.0)
        for side in out["cpu_seconds"].values():
            side["total"] = sum(side.values())
        same = _result_digest(single) == _result_digest(multi)
        out["comments"] = (
            one["json"][0]["analysed"] if isinstance(one["json"], list) else one["json"]["analysed"]
        )
        out["single_process"] = {k: one[k] for k in ("wall_seconds", "cpu_seconds", "rss_mb")}
        out["cluster"] = {k: many[k] for k in ("wall_seconds", "cpu_seconds", "rss_mb")}
        out["identical_results"] = same
        out["digest"] = _result_digest(single)
    out["ratio_cluster_vs_single"] = out["cluster"]["wall_seconds"] / out["single_process"]["wall_seconds"]
    out["load_after"] = load()
    print(
        f"analyze {out['comments']:,} comments: one process {out['single_process']['wall_seconds']:.1f} s, "
        f"{workers} single-threaded Dask workers {out['cluster']['wall_seconds']:.1f} s "
        f"({out['ratio_cluster_vs_single']:.2f}x; target <= 1.3x); identical results: {same}; "
        f"load average {out['load_before']} -> {out['load_after']}"
    )
    for side, parts in out["cpu_seconds"].items():
        print(f"  CPU seconds, {side}: " + ", ".join(f"{k} {v:.1f}" for k, v in parts.items()))
    return out
