"""`cxchange analyze`: sentiment and themes for every comment not yet analysed, incrementally.

Work is cut into partitions of (feedback id, text). `analyse_partition` is pure — it needs no
database — so an executor may run it here or on Dask workers; this module owns every database write,
so the stored result is the same whichever executor ran. Two kinds of work per run:

1. comments never analysed (in the requested scope): sentiment, then every theme;
2. comments analysed before whose themes an edit made stale: re-match only those themes.

Themes saved from discovery are scored by their matcher (themes/relevance.py) and get a comment only
above its calibrated threshold (an embedding matcher reuses the vectors discovery stored for the
comments it read, vectors.py, and embeds only the others); curated themes match by keyword rules.
Every assignment stores its relevance. A keyword mention also counts for the theme's ancestors; a
matcher scores its own themes only (a discovered parent groups sub-themes, it is not one more theme on
each comment).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine, Select, delete, func, select
from sqlalchemy.orm import Session

from cxchange.core.bulk import id_in, insert_rows
from cxchange.core.events import ANALYSIS_FINISHED, complete, record
from cxchange.core.executors import Executor, executor_for
from cxchange.core.migrate import ensure_schema
from cxchange.core.period import Period
from cxchange.core.planner_stats import refresh_tables
from cxchange.listen.models import Feedback, Source
from cxchange.listen.query import apply_filters, scope_filters
from cxchange.understand.distributed import (
    RunTarget,
    engine_url,
    forget_attempt,
    id_partitions,
    store_partition,
    workers_can_reach,
)
from cxchange.understand.models import AnalysisRun, FeedbackSentiment, FeedbackTheme, Theme
from cxchange.understand.sentiment.base import UNSUPPORTED
from cxchange.understand.themes import NO_TAXONOMY
from cxchange.understand.themes.matcher import Matcher, Mention, ThemeSpec, rule_relevance
from cxchange.understand.themes.matchers import load_matchers
from cxchange.understand.themes.relevance import ThemeModel
from cxchange.understand.themes.taxonomy import active_themes, current_version, mark_matched
from cxchange.understand.vectors import load_vectors

Progress = Callable[[int, int], None]  # (done, total)
Row = tuple[int, str, int]  # feedback id, text, source id
Known = dict[str, dict[str, np.ndarray]]  # per embedder, stored vectors by text key (vectors.py)


@dataclass
class ModelScorer:
    """One stored matcher as `analyse_partition` uses it (picklable: shipped to Dask workers)."""

    model: ThemeModel
    theme_ids: list[int | None]  # per model row
    source_id: int | None  # only this source's comments (None: every source)


@dataclass
class Scorers:
    """The matchers of one run in one object (Dask scatters a bare tuple element by element)."""

    items: tuple[ModelScorer, ...] = ()

    def embedders(self) -> frozenset[str]:
        """Embedders whose stored vectors these matchers can reuse."""
        return frozenset(s.model.embedder for s in self.items if s.model.reuses_vectors)


# What each tuple of a PartitionResult holds, in order: the columns it is stored in.
SENTIMENT_COLUMNS = ("feedback_id", "score", "label", "language")
MENTION_COLUMNS = ("feedback_id", "theme_id", "sentiment", "matched", "relevance")


@dataclass
class PartitionResult:
    sentiments: list[tuple[int, float | None, str, str | None]] = field(default_factory=list)
    mentions: list[tuple[int, int, float | None, str, float]] = field(default_factory=list)


def _model_mentions(
    scorer: ModelScorer, texts: list[str], known: Known | None = None
) -> list[list[tuple[Mention, float]]]:
    """Per text, (mention, relevance) for each theme its matcher gives it. Only those themes: a
    discovered parent groups its sub-themes and is not one more theme on the comment."""
    out: list[list[tuple[Mention, float]]] = [[] for _ in texts]
    stored = (known or {}).get(scorer.model.embedder)
    for i, picked in enumerate(scorer.model.assign(texts, groups=scorer.theme_ids, known=stored)):
        for tid, relevance, term in picked:
            start, end = scorer.model.span(texts[i], term)
            out[i].append((Mention(tid, start, end, term), relevance))
    return out


def analyse_partition(
    rows: list[Row],
    *,
    matcher: Matcher,
    backend: str,
    scorers: Scorers | None = None,
    only_themes: frozenset[int] | None = None,
    with_sentiment: bool = True,
    known: Known | None = None,
) -> PartitionResult:
    """Pure: comment sentiment (if asked) and theme mentions with the sentiment of their clause and
    their relevance. ``matcher``: keyword rules; ``scorers``: matchers of discovered themes;
    ``known``: the rows' stored embeddings (`load_vectors`), used instead of embedding them again."""
    from cxchange.understand.sentiment import get_backend, score_mentions_batch

    model = get_backend(backend)
    out = PartitionResult()
    texts = [t for _, t, _ in rows]
    if with_sentiment:
        for (fid, _, _), s in zip(rows, model.score(texts), strict=True):
            out.sentiments.append((fid, s.score, s.label, s.language))
    per_text: list[dict[int, tuple[Mention, float]]] = [
        {m.theme_id: (m, rule_relevance(m.hits)) for m in matcher.mentions(t)} for t in texts
    ]
    for scorer in scorers.items if scorers else ():
        idx = [i for i, (_, _, src) in enumerate(rows) if scorer.source_id in (None, src)]
        if not idx:
            continue
        for i, found in zip(idx, _model_mentions(scorer, [texts[i] for i in idx], known), strict=True):
            for m, relevance in found:  # an example-phrase rule and the matcher: the more relevant wins
                if m.theme_id not in per_text[i] or per_text[i][m.theme_id][1] < relevance:
                    per_text[i][m.theme_id] = (m, relevance)
    found_rows = []
    for (fid, text, _), themes in zip(rows, per_text, strict=True):
        ms = [v for k, v in sorted(themes.items()) if only_themes is None or k in only_themes]
        if ms:
            found_rows.append((fid, text, ms))
    # Clauses are scored once per partition, in one batch (the same clause often recurs).
    scores = score_mentions_batch(
        model, [(text, [(m.start, m.end) for m, _ in ms]) for _, text, ms in found_rows]
    )
    for (fid, _, ms), sc in zip(found_rows, scores, strict=True):
        for (m, relevance), value in zip(ms, sc, strict=True):
            out.mentions.append((fid, m.theme_id, value, m.keyword[:200], relevance))
    return out


def _specs(themes: list[Theme], scored: set[int]) -> list[ThemeSpec]:
    """Keyword rules; a theme a matcher scores keeps only its example phrases as rules (its keywords
    describe it: as rules they match most comments)."""
    return [
        ThemeSpec(t.id, t.name, () if t.id in scored else tuple(t.keywords or ()), tuple(t.examples or ()),
                  t.parent_id)
        for t in themes
    ]  # fmt: skip


def _partitions(
    engine: Engine, stmt: Any, size: int, embedders: frozenset[str] = frozenset()
) -> Iterator[tuple[list[Row], Known]]:
    """Keyset pagination by feedback id: stable while rows are being written. Each partition comes
    with its comments' stored vectors of ``embedders``."""
    last = 0
    while True:
        with engine.connect() as conn:
            rows = [
                (int(r[0]), r[1] or "", int(r[2]))
                for r in conn.execute(stmt.where(Feedback.id > last).order_by(Feedback.id).limit(size))
            ]
            known = load_vectors(conn, [r[0] for r in rows], embedders) if rows else {}
        if not rows:
            return
        last = rows[-1][0]
        yield rows, known


def analyse_part(part: tuple[list[Row], Known], **shared: Any) -> PartitionResult:
    """`analyse_partition` of one partition as `_partitions` yields it (rows and stored vectors)."""
    rows, known = part
    return analyse_partition(rows, known=known, **shared)


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
        loaded = load_matchers(session)
        active = {t.id for t in themes}
        scored = {t for m in loaded for t in m.theme_ids if t in active}
        by_id = {t.id: t for t in themes}
        for tid in list(scored):  # a discovered parent groups matcher themes: its keywords are no rules
            p = by_id[tid].parent_id
            while p in by_id and by_id[p].origin == "discovered" and p not in scored:
                scored.add(p)
                p = by_id[p].parent_id
        matcher = Matcher(_specs(themes, scored))
        sources = {name: sid for sid, name in session.execute(select(Source.id, Source.name))}
        scorers = Scorers(
            tuple(
                ModelScorer(
                    m.model,
                    [t if t in active else None for t in m.theme_ids],
                    (sources.get(m.source, -1) if m.source else None),  # -1: its source is gone
                )
                for m in loaded
            )
        )
        versions = {t.id: t.version for t in themes}

    filters, tree = scope_filters(engine, where, source)
    analysed = select(FeedbackSentiment.feedback_id).where(FeedbackSentiment.feedback_id == Feedback.id)
    new_stmt = apply_filters(
        select(Feedback.id, Feedback.text, Feedback.source_id).where(
            Feedback.text.is_not(None), ~analysed.exists()
        ),
        filters, period=Period(since), tree=tree,
    )  # fmt: skip
    old_stmt = select(Feedback.id, Feedback.text, Feedback.source_id).join(
        FeedbackSentiment, FeedbackSentiment.feedback_id == Feedback.id
    )
    with engine.connect() as conn:
        n_new = conn.scalar(select(func.count()).select_from(new_stmt.subquery())) or 0
        n_old = (conn.scalar(select(func.count()).select_from(old_stmt.subquery())) or 0) if dirty else 0
    total, done = n_new + n_old, 0

    own_executor = executor is None
    # The executor first: an unreachable scheduler stops the command before it records a run.
    ex = executor or (executor_for(workers=workers, scheduler=scheduler) if total else None)
    work_id = None
    try:
        with Session(engine) as session, session.begin():
            run = AnalysisRun(
                backend=backend_name, taxonomy_version=version,
                scope={"source": source, "since": since.isoformat() if since else None, "where": list(where)},
            )  # fmt: skip
            session.add(run)
            session.flush()
            run_id = run.id
            # What the run triggers (core/events.py: theme-negative cases and recognitions of its
            # mentions, the decide page's figures), recorded with the run and done when it ends, however
            # it ends: a run killed midway leaves its written partitions' work to the next command.
            work_id = record(session.connection(), ANALYSIS_FINISHED, {"run_id": run_id})
        if progress:
            progress(0, total)
        # On a cluster workers read and write the database themselves; only ids go through the scheduler.
        remote = ex is not None and ex.name == "dask" and workers_can_reach(engine)
        # (comments, the only themes to match again or None for all, score sentiment too)
        passes: list[tuple[Select[int, str | None, int], frozenset[int] | None, bool]] = (
            [(old_stmt, dirty, False)] if dirty and n_old else []
        )
        passes += [(new_stmt, None, True)] if n_new else []
        for stmt, only, with_sentiment in passes:
            assert ex is not None
            if remote:
                target = RunTarget(engine_url(engine), run_id, version, backend_name, only, with_sentiment,
                                   scorers.embedders())  # fmt: skip
                stored = ex.map(
                    store_partition, id_partitions(engine, stmt, size), target=target, matcher=matcher,
                    scorers=scorers, only_themes=only,
                )  # fmt: skip
                for n in stored:
                    done += n
                    if progress:
                        progress(done, total)
                continue
            parts = _partitions(engine, stmt, size, scorers.embedders())
            pairs = _zip_parts(ex, parts, matcher, scorers, backend_name, only, with_sentiment)
            for part_rows, result in pairs:
                write_partition(
                    engine, run_id, version, part_rows, result, replace_themes=only,
                    backend=backend_name if with_sentiment else "",
                )  # fmt: skip
                done += len(part_rows)
                if progress:
                    progress(done, total)
        mark_matched(engine, versions)
        # Statistics for what was just written in bulk, so the explorer's theme and sentiment filters
        # are planned on the real tables (core/planner_stats.py). Rows analysed stand for rows written.
        refresh_tables(engine, [("feedback_sentiment", n_new), ("feedback_theme", done)])
        seconds = time.perf_counter() - started
        with Session(engine) as session, session.begin():
            finished = session.get(AnalysisRun, run_id)
            assert finished is not None
            finished.comments, finished.rematched, finished.status = n_new, n_old, "done"
            finished.finished_at, finished.seconds = datetime.utcnow(), seconds
    except BaseException:
        if work_id is not None:
            complete(engine, work_id)  # the partitions written are committed: their cases still open
        raise
    finally:
        if own_executor and ex is not None:
            ex.close()
    # The decide figures too (a look-up when stored, so a run with nothing new fills in a database that
    # has none). Never raises: what fails stays pending.
    loop = complete(engine, work_id).results.get("close_loop", {})
    other = _other_languages(engine, run_id) if n_new else {}
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
        "not_english": sum(other.values()),
        **({"warning": "sentiment only: " + NO_TAXONOMY} if not versions else {}),
        **({"note": _language_note(other, n_new)} if other else {}),
    }


def _other_languages(engine: Engine, run_id: int) -> dict[str, int]:
    """language -> comments of this run the sentiment back-end does not cover (label "unsupported")."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(FeedbackSentiment.language, func.count())
            .where(FeedbackSentiment.run_id == run_id, FeedbackSentiment.label == UNSUPPORTED)
            .group_by(FeedbackSentiment.language)
        ).all()
    return {str(language or "und"): int(n) for language, n in sorted(rows, key=lambda r: -r[1])}


def _language_note(other: dict[str, int], analysed: int) -> str:
    """Said, not left to be found: comments in other languages have no sentiment score (not neutral)."""
    languages = ", ".join(f"{code} {n}" for code, n in list(other.items())[:6])
    return (
        f"{sum(other.values())} of {analysed} comments analysed are not in English ({languages}): their "
        "sentiment is 'unsupported', with no score (not neutral), and they count in no sentiment average"
    )


def _zip_parts(
    ex: Executor | None,
    parts: Iterator[tuple[list[Row], Known]],
    matcher: Matcher,
    scorers: Scorers,
    backend: str,
    only: frozenset[int] | None,
    with_sentiment: bool,
) -> Iterator[tuple[list[Row], PartitionResult]]:
    assert ex is not None
    # Partitions are read lazily in the order the executor consumes them; keep them for the write.
    held: list[list[Row]] = []

    def feed() -> Iterator[tuple[list[Row], Known]]:
        for p in parts:
            held.append(p[0])
            yield p

    results = ex.map(
        analyse_part, feed(), matcher=matcher, scorers=scorers, backend=backend,
        only_themes=only, with_sentiment=with_sentiment,
    )  # fmt: skip
    for result in results:
        yield held.pop(0), result


def _stored(found: Sequence[tuple[Any, ...]], *same: Any) -> list[tuple[Any, ...]]:
    """The rows to insert: each tuple's values, then what all of them share."""
    return [(*values, *same) for values in found]


def write_partition(
    engine: Engine,
    run_id: int,
    version: int,
    rows: list[Row],
    result: PartitionResult,
    *,
    replace_themes: frozenset[int] | None,
    backend: str = "",
    retry_safe: bool = False,
) -> None:
    """One transaction per partition: a crash leaves whole partitions, and `analyze` resumes.
    `retry_safe`: first remove what an earlier attempt of this partition in this run stored."""
    ids = [fid for fid, _, _ in rows]
    with engine.begin() as conn:
        if retry_safe:
            forget_attempt(conn, run_id, ids)
        if replace_themes:
            conn.execute(
                delete(FeedbackTheme).where(
                    id_in(FeedbackTheme.feedback_id, ids, conn.dialect.name),
                    FeedbackTheme.theme_id.in_(sorted(replace_themes)),
                )
            )
        # COPY on PostgreSQL (core/bulk.py): a statement per row was most of a partition's write.
        if result.sentiments:
            sentiments = _stored(result.sentiments, backend, run_id)
            insert_rows(
                conn, FeedbackSentiment.__table__, (*SENTIMENT_COLUMNS, "backend", "run_id"), sentiments
            )
        if result.mentions:
            mentions = _stored(result.mentions, version, run_id)
            insert_rows(
                conn, FeedbackTheme.__table__, (*MENTION_COLUMNS, "taxonomy_version", "run_id"), mentions
            )
