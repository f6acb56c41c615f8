"""`cxchange analyze`: sentiment and themes for every comment not yet analysed, incrementally.

Work is cut into partitions of (feedback id, text). `analyse_partition` is pure — it needs no
database — so an executor may run it here or on Dask workers; this module owns every database write,
so the stored result is the same whichever executor ran. Two kinds of work per run:

1. comments never analysed (in the requested scope): sentiment, then every theme;
2. comments analysed before whose themes an edit made stale: re-match only those themes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.orm import Session

from cxchange.core.executors import Executor, executor_for
from cxchange.core.migrate import ensure_schema
from cxchange.listen.models import Feedback
from cxchange.listen.query import apply_filters, scope_filters
from cxchange.understand.models import AnalysisRun, FeedbackSentiment, FeedbackTheme, Theme
from cxchange.understand.themes.matcher import Matcher, ThemeSpec
from cxchange.understand.themes.taxonomy import active_themes, current_version, mark_matched

Progress = Callable[[int, int], None]  # (done, total)


@dataclass
class PartitionResult:
    sentiments: list[tuple[int, float | None, str, str | None]] = field(default_factory=list)
    mentions: list[tuple[int, int, float | None, str]] = field(default_factory=list)


def analyse_partition(
    rows: list[tuple[int, str]],
    *,
    matcher: Matcher,
    backend: str,
    only_themes: frozenset[int] | None = None,
    with_sentiment: bool = True,
) -> PartitionResult:
    """Pure: comment sentiment (if asked) and theme mentions with the sentiment of their clause."""
    from cxchange.understand.sentiment import get_backend, score_mentions_batch

    model = get_backend(backend)
    out = PartitionResult()
    texts = [t for _, t in rows]
    if with_sentiment:
        for (fid, _), s in zip(rows, model.score(texts), strict=True):
            out.sentiments.append((fid, s.score, s.label, s.language))
    found = []
    for fid, text in rows:
        mentions = matcher.mentions(text)
        if only_themes is not None:
            mentions = [m for m in mentions if m.theme_id in only_themes]
        if mentions:
            found.append((fid, text, mentions))
    # Clauses are scored once per partition, in one batch (the same clause often recurs).
    scores = score_mentions_batch(model, [(text, [(m.start, m.end) for m in ms]) for _, text, ms in found])
    for (fid, _, ms), sc in zip(found, scores, strict=True):
        for m, value in zip(ms, sc, strict=True):
            out.mentions.append((fid, m.theme_id, value, m.keyword[:200]))
    return out


def _specs(themes: list[Theme]) -> list[ThemeSpec]:
    return [
        ThemeSpec(t.id, t.name, tuple(t.keywords or ()), tuple(t.examples or ()), t.parent_id) for t in themes
    ]


def _partitions(engine: Engine, stmt: Any, size: int) -> Iterator[list[tuple[int, str]]]:
    """Keyset pagination by feedback id: stable while rows are being written."""
    last = 0
    while True:
        with engine.connect() as conn:
            rows = [
                (int(r[0]), r[1] or "")
                for r in conn.execute(stmt.where(Feedback.id > last).order_by(Feedback.id).limit(size))
            ]
        if not rows:
            return
        last = rows[-1][0]
        yield rows


def analyze(
    engine: Engine,
    *,
    source: str | None = None,
    since: date | None = None,
    where: tuple[str, ...] = (),
    backend: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: Executor | None = None,
    partition_rows: int | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    from cxchange.core.config import Settings
    from cxchange.understand.sentiment import get_backend

    ensure_schema(engine)
    settings = Settings()
    backend_name = get_backend(backend).name  # fails fast on an unknown back-end
    size = partition_rows or settings.analyze_partition_rows
    started = time.perf_counter()

    with Session(engine) as session, session.begin():
        version = current_version(session)
        themes = active_themes(session)
        dirty = frozenset(t.id for t in themes if t.matched_version != t.version)
        run = AnalysisRun(
            backend=backend_name, taxonomy_version=version,
            scope={"source": source, "since": since.isoformat() if since else None, "where": list(where)},
        )  # fmt: skip
        session.add(run)
        session.flush()
        run_id = run.id
        matcher = Matcher(_specs(themes))
        versions = {t.id: t.version for t in themes}

    filters, tree = scope_filters(engine, where, source)
    analysed = select(FeedbackSentiment.feedback_id).where(FeedbackSentiment.feedback_id == Feedback.id)
    new_stmt = apply_filters(
        select(Feedback.id, Feedback.text).where(Feedback.text.is_not(None), ~analysed.exists()),
        filters, since=since, tree=tree,
    )  # fmt: skip
    old_stmt = select(Feedback.id, Feedback.text).join(
        FeedbackSentiment, FeedbackSentiment.feedback_id == Feedback.id
    )
    with engine.connect() as conn:
        n_new = conn.scalar(select(func.count()).select_from(new_stmt.subquery())) or 0
        n_old = (conn.scalar(select(func.count()).select_from(old_stmt.subquery())) or 0) if dirty else 0
    total, done = n_new + n_old, 0
    if progress:
        progress(0, total)

    own_executor = executor is None
    ex = executor or (executor_for(workers=workers, scheduler=scheduler) if total else None)
    try:
        if dirty and n_old:
            parts = _partitions(engine, old_stmt, size)
            for part_rows, result in _zip_parts(ex, parts, matcher, backend_name, dirty, False):
                _write(engine, run_id, version, part_rows, result, replace_themes=dirty)
                done += len(part_rows)
                if progress:
                    progress(done, total)
        if n_new:
            parts = _partitions(engine, new_stmt, size)
            for part_rows, result in _zip_parts(ex, parts, matcher, backend_name, None, True):
                _write(engine, run_id, version, part_rows, result, replace_themes=None, backend=backend_name)
                done += len(part_rows)
                if progress:
                    progress(done, total)
    finally:
        if own_executor and ex is not None:
            ex.close()
    mark_matched(engine, versions)
    seconds = time.perf_counter() - started
    with Session(engine) as session, session.begin():
        run = session.get(AnalysisRun, run_id)
        assert run is not None
        run.comments, run.rematched, run.status = n_new, n_old, "done"
        run.finished_at, run.seconds = datetime.utcnow(), seconds
    loop: dict[str, Any] = {}
    if n_new or n_old:
        from cxchange.sustain.hooks import after_analyze

        loop = after_analyze(engine, run_id)  # theme-negative cases, recognitions; never raises
    from cxchange.decide.overview import refresh_after_write

    # The decide page's figures for this data version (a look-up when they are stored already, so
    # `analyze` with nothing new also fills them in for a database that has none); never raises.
    refresh_after_write(engine)
    return {
        "run": run_id,
        "backend": backend_name,
        "taxonomy_version": version,
        "themes": len(versions),
        "analysed": n_new,
        "rematched": n_old,
        "rematched_themes": sorted(dirty) if n_old else [],
        "executor": ex.name if ex is not None else "none",
        "seconds": round(seconds, 3),
        "per_second": round(n_new / seconds, 1) if seconds > 0 and n_new else None,
        "cases_opened": loop.get("cases_opened", 0),
        "recognitions": loop.get("recognitions", 0),
    }


def _zip_parts(
    ex: Executor | None,
    parts: Iterator[list[tuple[int, str]]],
    matcher: Matcher,
    backend: str,
    only: frozenset[int] | None,
    with_sentiment: bool,
) -> Iterator[tuple[list[tuple[int, str]], PartitionResult]]:
    assert ex is not None
    # Partitions are read lazily in the order the executor consumes them; keep them for the write.
    held: list[list[tuple[int, str]]] = []

    def feed() -> Iterator[list[tuple[int, str]]]:
        for p in parts:
            held.append(p)
            yield p

    results = ex.map(
        analyse_partition, feed(), matcher=matcher, backend=backend,
        only_themes=only, with_sentiment=with_sentiment,
    )  # fmt: skip
    for result in results:
        yield held.pop(0), result


def _write(
    engine: Engine,
    run_id: int,
    version: int,
    rows: list[tuple[int, str]],
    result: PartitionResult,
    *,
    replace_themes: frozenset[int] | None,
    backend: str = "",
) -> None:
    """One transaction per partition: a crash leaves whole partitions, and `analyze` resumes."""
    ids = [fid for fid, _ in rows]
    with engine.begin() as conn:
        if replace_themes:
            conn.execute(
                delete(FeedbackTheme).where(
                    FeedbackTheme.feedback_id.in_(ids), FeedbackTheme.theme_id.in_(sorted(replace_themes))
                )
            )
        if result.sentiments:
            conn.execute(
                insert(FeedbackSentiment),
                [
                    dict(feedback_id=f, score=s, label=lab, language=lang, backend=backend, run_id=run_id)
                    for f, s, lab, lang in result.sentiments
                ],
            )
        if result.mentions:
            conn.execute(
                insert(FeedbackTheme),
                [
                    dict(
                        feedback_id=f,
                        theme_id=t,
                        sentiment=s,
                        matched=kw,
                        taxonomy_version=version,
                        run_id=run_id,
                    )
                    for f, t, s, kw in result.mentions
                ],
            )
