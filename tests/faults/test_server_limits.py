"""Abuse against a real `cxchange serve` (a subprocess, two workers): oversized and repeated-parameter
requests, floods of expensive calls and of wrong passwords. The server keeps answering /api/health, its
memory stays bounded (VmRSS of every process), and the limits hold across workers because they are
counted in the database."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

PASSWORD = "correct-horse-battery"
# Growth allowed over the whole test, per server process: the 30 MB body that once grew a worker to
# 23 GB must not even be read; 5,000 repeated themes once added 400 MB.
RSS_GROWTH_MB = 150


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _server_pids(root: int) -> list[int]:
    """The serve process and its workers (uvicorn's children)."""
    pids, stack = [], [root]
    while stack:
        pid = stack.pop()
        pids.append(pid)
        children = Path(f"/proc/{pid}/task/{pid}/children")
        if children.exists():
            stack.extend(int(c) for c in children.read_text().split())
    return [p for p in pids if Path(f"/proc/{p}/status").exists()]


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, cxchange_server: Any
) -> Iterator[tuple[str, str, subprocess.Popen[bytes]]]:
    from cxchange.auth.service import add_user, create_token
    from cxchange.core.db import get_engine
    from cxchange.demo.load import create_demo

    folder = tmp_path_factory.mktemp("faults")
    url = f"sqlite:///{folder / 'faults.db'}"
    engine = get_engine(url)
    create_demo(engine, rows=3_000, seed=7)
    add_user(engine, "viewer@faults.test", "viewer", password=PASSWORD, actor="test")
    token = create_token(engine, "viewer@faults.test")
    engine.dispose()
    env = {"CXCHANGE_DATABASE_URL": url, "CXCHANGE_SIMULATE_PER_MINUTE": "12", "CXCHANGE_MAX_UPLOAD_MB": "5"}
    with cxchange_server(["--workers", "2", "--db", url], folder / "server.log", env) as (base, proc):
        yield base, token, proc


def _alive(base: str) -> None:
    assert httpx.get(base + "/api/health", timeout=10).status_code == 200


def test_abuse_is_refused_and_the_server_stays_small(
    server: tuple[str, str, subprocess.Popen[bytes]],
) -> None:
    base, token, proc = server
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=auth, timeout=60) as api:
        api.post("/api/simulate", json={"fix": ["Waiting time"], "draws": 100})  # warm every import
        before = {pid: _rss_mb(pid) for pid in _server_pids(proc.pid)}

        # 1. a 30 MB JSON body, declared: refused before a byte of it is read
        huge = b'{"fix": [' + b",".join([b'"Waiting time"'] * 2_000_000) + b"]}"
        assert api.post("/api/simulate", content=huge, headers={"content-type": "application/json"}
                        ).status_code == 413  # fmt: skip

        # 2. the same, streamed without Content-Length: refused once 1 MB has arrived
        def stream() -> Iterator[bytes]:
            for start in range(0, len(huge), 1 << 16):
                yield huge[start : start + (1 << 16)]

        streamed = api.post("/api/simulate", content=stream(), headers={"content-type": "application/json"})
        assert streamed.status_code == 413
        _alive(base)

        # 3. 5,000 repeats of one theme (78 kB): answered as one theme, or refused, never a bigger effect
        once = api.post("/api/simulate", json={"fix": ["Waiting time"], "draws": 200})
        repeated = api.post("/api/simulate", json={"fix": ["Waiting time"] * 5_000, "draws": 200})
        assert repeated.status_code in (422, 429) or repeated.json()["delta"] == once.json()["delta"]

        # 4. an upload over CXCHANGE_MAX_UPLOAD_MB (5 here): 413 while it streams, nothing stored
        def upload() -> Iterator[bytes]:
            yield b'--b\r\nContent-Disposition: form-data; name="source"\r\n\r\nx\r\n'
            yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
            for _ in range(160):
                yield b"1,2026-01-01,9,fine\n" * 3_300  # 66 kB a piece, 10 MB in all
            yield b"\r\n--b--\r\n"

        big = api.post(
            "/api/imports", content=upload(), headers={"content-type": "multipart/form-data; boundary=b"}
        )
        assert big.status_code == 413
        assert api.get("/api/batches").json() == [] or all(
            b["source"] != "x" for b in api.get("/api/batches").json()
        )

        # 5. a flood of simulate calls: 429 with Retry-After, the limit shared by both workers
        codes = [api.post("/api/simulate", json={"fix": ["Waiting time"], "draws": 50}) for _ in range(16)]
        limited = [r for r in codes if r.status_code == 429]
        assert limited and all(int(r.headers["retry-after"]) >= 1 for r in limited)
        assert all(r.status_code in (200, 429) for r in codes)
        assert sum(r.status_code == 200 for r in codes) <= 12  # 12 a minute over both workers

        # 6. a NUL in a filter: 400, not 500
        assert api.get("/api/feedback", params={"where": "attr:x\x00=1"}).status_code == 400
        _alive(base)
        after = {pid: _rss_mb(pid) for pid in _server_pids(proc.pid)}
    grown = {pid: after.get(pid, 0) - mb for pid, mb in before.items()}
    assert max(grown.values()) < RSS_GROWTH_MB, (before, after)


def test_wrong_passwords_are_counted_once_for_all_workers(
    server: tuple[str, str, subprocess.Popen[bytes]],
) -> None:
    """With --workers 2, ten failures passed instead of five when each process counted its own."""
    from cxchange.testing import login

    base, _token, _proc = server
    codes = []
    for _ in range(8):
        with httpx.Client(base_url=base) as c:  # a new connection each time: either worker may answer
            codes.append(login(c, "viewer@faults.test", "wrong-password-1").status_code)
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}, codes
    _alive(base)
