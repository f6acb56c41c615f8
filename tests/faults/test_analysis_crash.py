"""An analysis that dies midway: the partitions it wrote are committed, and the cases their negative
mentions call for are still opened (the run's "analysis finished" work is recorded with the run)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Engine, select

from cxchange.core import events
from cxchange.listen.service import ImportOptions, import_frame
from cxchange.sustain import cases
from cxchange.understand import analyze as analyze_module
from cxchange.understand.models import AnalysisRun
from cxchange.understand.themes.taxonomy import add_theme


def test_cases_of_partitions_written_before_a_failure_are_opened(engine: Engine, monkeypatch: Any) -> None:
    add_theme(engine, "Queues", keywords=["queue"])
    cases.add_rule(engine, cases.CaseRuleIn(kind="theme", theme="Queues", sla="1d"))
    yesterday = (datetime.utcnow() - timedelta(days=1)).isoformat(sep=" ", timespec="seconds")
    frame = pl.DataFrame(
        {"external_id": [f"q{i}" for i in range(6)], "received_at": [yesterday] * 6, "nps": ["9"] * 6,
         "text": [f"The queue was awful, visit {i}" for i in range(6)]}
    )  # fmt: skip
    maps = tuple(f"{c}={c}" for c in frame.columns)
    import_frame(engine, frame, ImportOptions(source="s", map_options=maps, close_loop=False))

    write = analyze_module.write_partition
    calls = {"n": 0}

    def second_partition_fails(*args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker lost")
        write(*args, **kwargs)

    monkeypatch.setattr(analyze_module, "write_partition", second_partition_fails)
    with pytest.raises(RuntimeError, match="worker lost"):
        analyze_module.analyze(engine, backend="fast", partition_rows=3)
    assert len(cases.list_cases(engine)) == 3  # the first partition's three complaints
    assert events.pending(engine) == []
    with engine.connect() as conn:  # the run is not left "running" for ever
        assert conn.execute(select(AnalysisRun.status, AnalysisRun.finished_at)).one()[0] == "interrupted"

    analyze_module.analyze(engine, backend="fast", partition_rows=3)  # a later run finishes the rest
    with engine.connect() as conn:
        statuses = conn.execute(select(AnalysisRun.status).order_by(AnalysisRun.id)).scalars().all()
    assert statuses == ["interrupted", "done"]
