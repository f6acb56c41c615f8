"""`analyze` on a Dask cluster: ids in, rows and results through the database, not the scheduler.

On a cluster the driver sends each task only a partition's feedback ids. The worker reads those rows
from the database itself, runs the same pure `analyse_partition`, and writes the result in one
transaction that first removes whatever an earlier attempt of the same partition in the same run
wrote, so a partition retried after its worker died (Dask re-runs the tasks a lost worker held) is
stored exactly once. The matchers are scattered to every worker once (one copy per worker process),
the sentiment model and the database engine are built once per worker process (both cached).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, select

from cxchange.core.bulk import id_in
from cxchange.core.errors import CxError
from cxchange.listen.models import Feedback
from cxchange.understand.models import FeedbackSentiment, FeedbackTheme
from cxchange.understand.themes.matcher import Matcher


@dataclass(frozen=True)
class RunTarget:
    """Where and for which run a worker stores its partitions (picklable; the URL carries any password
    the driver's own URL has: workers need the same access to the database)."""

    url: str
    run_id: int
    version: int
    backend: str
    replace_themes: frozenset[int] | None  # re-matching these themes of analysed comments
    with_sentiment: bool
    embedders: frozenset[str] = frozenset()  # whose stored vectors (vectors.py) the matchers reuse


def workers_can_reach(engine: Engine) -> bool:
    """An in-memory SQLite database exists only in this process: workers cannot read it."""
    return not (engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:"))


def engine_url(engine: Engine) -> str:
    """The URL as a worker elsewhere must open it: a SQLite file by its absolute path."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database:
        url = url.set(database=str(Path(url.database).resolve()))
    return url.render_as_string(hide_password=False)


def id_partitions(engine: Engine, stmt: Any, size: int) -> Iterator[list[int]]:
    """Keyset pagination of only the ids of `stmt`'s rows (its first column is Feedback.id)."""
    only_ids = stmt.with_only_columns(Feedback.id)
    last = 0
    while True:
        with engine.connect() as conn:
            ids = list(conn.scalars(only_ids.where(Feedback.id > last).order_by(Feedback.id).limit(size)))
        if not ids:
            return
        last = int(ids[-1])
        yield [int(i) for i in ids]


def store_partition(
    ids: list[int], *, target: RunTarget, matcher: Matcher, scorers: Any, only_themes: frozenset[int] | None
) -> int:
    """Run on a worker: read the partition's rows, analyse them, store the result idempotently.
    Returns how many comments it stored."""
    from cxchange.core.db import get_engine
    from cxchange.understand.analyze import analyse_partition, write_partition
    from cxchange.understand.vectors import load_vectors

    engine = get_engine(target.url, upgrade=False)  # cached per process: one pool per worker
    with engine.connect() as conn:
        rows = [
            (int(r[0]), r[1] or "", int(r[2]))
            for r in conn.execute(
                select(Feedback.id, Feedback.text, Feedback.source_id)
                .where(id_in(Feedback.id, ids, engine.dialect.name))
                .order_by(Feedback.id)
            )
        ]
        known = load_vectors(conn, [r[0] for r in rows], target.embedders)
    if ids and not rows:  # never store "nothing" for a partition: this is not the driver's database
        raise CxError(f"a Dask worker found none of its {len(ids)} comments in {engine.url!r}")
    result = analyse_partition(
        rows, matcher=matcher, backend=target.backend, scorers=scorers,
        only_themes=only_themes, with_sentiment=target.with_sentiment, known=known,
    )  # fmt: skip
    write_partition(
        engine, target.run_id, target.version, rows, result,
        replace_themes=target.replace_themes, backend=target.backend if target.with_sentiment else "",
        retry_safe=True,
    )  # fmt: skip
    return len(rows)


def forget_attempt(conn: Any, run_id: int, ids: list[int]) -> None:
    """What an earlier attempt of this partition in this run stored (a retry after a lost worker)."""
    dialect = conn.dialect.name
    for table in (FeedbackSentiment, FeedbackTheme):
        conn.execute(delete(table).where(id_in(table.feedback_id, ids, dialect), table.run_id == run_id))
