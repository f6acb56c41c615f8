"""An import's `seconds` is the whole command's, post-commit work included, with where the time went."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine, select

from cxchange.core import events
from cxchange.core.cli_support import process_started
from cxchange.core.config import get_settings
from cxchange.listen.browse import list_batches
from cxchange.listen.models import ImportBatch
from cxchange.listen.readers import TableInfo
from cxchange.listen.service import ImportOptions, frame_chunks, import_frame, import_table

IMPORTED = time.perf_counter()
OPTS = ImportOptions(source="s", map_options=("external_id=id", "nps=nps", "text=comment"))


def _frame(n: int = 6) -> pl.DataFrame:
    return pl.DataFrame(
        {"id": [f"r{i}" for i in range(n)], "nps": [str(i % 11) for i in range(n)], "comment": ["ok"] * n}
    )


def test_seconds_include_the_post_commit_steps_and_are_stored(engine: Engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    slow = 0.4
    events.subscribers(events.BATCH_IMPORTED)  # the registry loaded, so its entry can be swapped
    subscribed = events._subscribers[events.BATCH_IMPORTED]
    catch_up = subscribed["search_index"]

    def slow_catch_up(e: Engine, payload: Any) -> Any:  # a post-commit step that takes a while
        time.sleep(slow)
        return catch_up(e, payload)

    monkeypatch.setitem(subscribed, "search_index", slow_catch_up)
    result = import_frame(engine, _frame(), OPTS)
    t = result.timings
    assert t["search_index"] >= slow and t["post_commit"] >= t["search_index"]
    assert result.seconds >= t["post_commit"] + t["write"]
    assert t["total"] == result.seconds
    assert {"startup", "read", "validate", "write", "commit", "post_commit"} <= set(t)
    with engine.connect() as conn:
        stored = conn.execute(
            select(ImportBatch.seconds, ImportBatch.timings).where(ImportBatch.id == result.batch_id)
        ).one()
    assert stored.seconds == result.seconds and stored.timings == result.timings
    listed = list_batches(engine)[0]
    assert (listed["seconds"], listed["timings"]) == (result.seconds, result.timings)


def test_seconds_count_from_when_the_command_started(sqlite_engine: Engine) -> None:
    frame = _frame()
    info = TableInfo(path="<f>", format="frame", compression=None, encoding=None, delimiter=None,
                     columns=frame.columns)  # fmt: skip
    began = time.perf_counter() - 1.0  # e.g. the process start, a second before the import was called
    result = import_table(sqlite_engine, info, frame_chunks(frame), OPTS, started=began)
    assert result.timings["startup"] >= 1.0
    assert result.seconds >= 1.0 + result.timings["post_commit"]


def test_process_started_is_before_anything_this_process_did() -> None:
    started = process_started()
    # the interpreter started, then imported pytest and this module (IMPORTED is set at import)
    assert started < IMPORTED - 0.05
    assert time.perf_counter() - started < 24 * 3600


def test_the_cli_reports_the_time_its_user_waits(tmp_path: Path) -> None:
    csv = tmp_path / "s.csv"
    csv.write_text("id,nps,comment\n" + "".join(f"r{i},{i % 11},fine\n" for i in range(200)))
    db = f"sqlite:///{tmp_path / 'cx.db'}"
    cx = [sys.executable, "-m", "cxchange", "--db", db]
    subprocess.run([*cx, "db", "upgrade"], check=True, capture_output=True, timeout=300)
    t = time.perf_counter()
    run = subprocess.run([*cx, "import", str(csv), "--source", "s", "--format", "json"],
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    wall = time.perf_counter() - t
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    # Interpreter start-up and imports are in it (most of a small import), and nothing is left out
    # but the process's own exit after its last output.
    assert out["timings"]["startup"] > 0.2
    # The process's start comes from /proc in 10 ms ticks, truncated: it may precede the parent's clock
    # reading by up to one tick (plus the report's rounding to the millisecond).
    assert out["seconds"] <= wall + 0.011
    assert wall - out["seconds"] < max(0.15 * wall, 0.3), (wall, out)


def test_import_chunk_rows_setting_sizes_the_chunks(sqlite_engine: Engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from cxchange.listen import columnar

    monkeypatch.setenv("CXCHANGE_IMPORT_CHUNK_ROWS", "3")
    get_settings.cache_clear()
    try:
        assert ImportOptions(source="s").rows_per_chunk() == 3
        import_frame(sqlite_engine, _frame(10), OPTS)
    finally:
        get_settings.cache_clear()
    # one staged Parquet part of the columnar copy per chunk written: 3 + 3 + 3 + 1 rows
    directory = columnar.cache_dir(sqlite_engine)
    assert directory is not None
    assert len(list(directory.glob("part-*.parquet"))) == 4
