"""Word search over feedback comments: an FTS5 index on SQLite, caught up rather than triggered.

The index (`feedback_fts`, migration 0007) is an FTS5 *external-content* table over feedback.text:
it stores only the inverted index, the text stays in feedback. No trigger keeps it current —
imports are bulk inserts and a per-row trigger would slow them — so it is caught up instead:

- imports only add rows with higher ids, so `sync_search_index` indexes the rows with an id above
  the highest one indexed (`search_index_state` row "max_id");
- anything else (deleting or editing feedback) bumps the `feedback_changes` counter (SQLite
  triggers, migration 0002); when it differs from the value indexed at ("changes"), the whole
  index is rebuilt from feedback.

`search_condition` answers "every word of q appears as a word prefix" and never misses rows: rows
newer than the index are tested with LIKE, and an index out of date after edits or deletions is not
used at all (LIKE over everything) until it is rebuilt.

PostgreSQL answers the same question from its own full-text search: `to_tsvector('simple', text)`
(no stemming, like unicode61) matched against a tsquery of every word as a prefix (`word:*`, words
split the way FTS5 splits them joined by `<->`), from a GIN index (migration 0013) that PostgreSQL
keeps current itself. One difference remains: PostgreSQL's 'simple' configuration keeps accents
("cafe" does not find "café"), where FTS5 removes them. A q with no letter or digit is a substring
search (LIKE) on both.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Engine,
    Select,
    String,
    TextClause,
    and_,
    column,
    delete,
    exc,
    func,
    insert,
    select,
    table,
    text,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from cxchange.core.base import Base
from cxchange.core.types import BigId
from cxchange.listen.models import Feedback, FeedbackChanges

log = logging.getLogger(__name__)

FTS_TABLE = "feedback_fts"
# Fixed DDL (migration 0022 creates it as it is now). columnsize=0: no per-comment token counts, which
# only ranking (bm25) reads and cost a third of indexing an import; searches here never rank.
FTS_DDL = (
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5("
    "text, content='feedback', content_rowid='id', tokenize='unicode61 remove_diacritics 2', columnsize=0)"
)
# The virtual table and the shadow tables FTS5 keeps its index in (no models: not for Alembic).
FTS_TABLES = frozenset(
    {FTS_TABLE} | {f"{FTS_TABLE}_{s}" for s in ("data", "idx", "content", "docsize", "config")}
)

_fts = table(FTS_TABLE, column("rowid"), column("text"))
_WORD = re.compile(r"[^\W_]")  # a letter or digit: what the unicode61 tokenizer keeps as a token


class SearchIndexState(Base):
    """Bookkeeping of the search index: name → value ("max_id": highest feedback id indexed,
    "changes": the feedback_changes counter when the index was last built)."""

    __tablename__ = "search_index_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigId)


@dataclass(frozen=True)
class IndexState:
    indexed_max: int  # every feedback row with id <= this is in the index
    indexed_changes: int
    max_id: int  # highest feedback id now
    changes: int  # feedback_changes counter now

    @property
    def stale(self) -> bool:
        """Rows were deleted or edited since the index was built: its entries may be wrong."""
        return self.changes != self.indexed_changes or self.max_id < self.indexed_max

    @property
    def behind(self) -> bool:
        """Rows were added since: they are not in the index yet."""
        return self.max_id > self.indexed_max

    @property
    def current(self) -> bool:
        return not (self.stale or self.behind)


# The indexed expression of migration 0013, written as SQL text so the query repeats it exactly (a bound
# 'simple' would be a parameter, and the planner matches index expressions only against constants).
PG_SEARCH_INDEX = "ix_feedback_text_search"  # an expression index: no model describes it
# Every run of characters that are not letters or digits becomes a space first, so PostgreSQL's parser
# sees the words FTS5's unicode61 sees: it would otherwise drop "<script>" as an HTML tag and keep
# "a@b.com" or a URL as one token that no word of a search matches.
TSVECTOR_SQL = (
    "to_tsvector('simple'::regconfig, regexp_replace(coalesce(feedback.text, ''), '[^[:alnum:]]+', ' ', 'g'))"
)
_TOKEN = re.compile(r"[^\W_]+")  # runs of letters or digits: the tokens unicode61 makes of a word


def has_index(engine: Engine) -> bool:
    """SQLite's FTS5 index is ours to catch up; PostgreSQL keeps its GIN index current itself."""
    return engine.dialect.name == "sqlite"


def tsquery_expression(q: str | None) -> str | None:
    """A to_tsquery text requiring every word of `q` as a word prefix, or None when `q` has no word
    characters. Each word is split into tokens as FTS5 splits it ("e-mail" → e, mail) and they must
    follow each other (`<->`), the last as a prefix, as FTS5's `"e mail"*` reads. Tokens hold only
    letters and digits, so nothing in `q` is ever read as tsquery syntax."""
    words = []
    for word in (q or "").split():
        tokens = [t.lower() for t in _TOKEN.findall(word)]
        if tokens:
            words.append(" <-> ".join([*tokens[:-1], tokens[-1] + ":*"]))
    return " & ".join(f"({w})" for w in words) or None


def match_expression(q: str | None) -> str | None:
    """An FTS5 MATCH expression requiring every word of `q` as a word prefix, or None when `q` has
    no word characters (search with LIKE then).

    Each word is one FTS5 string ("…", inner quotes doubled) followed by `*`: inside a string FTS5
    reads nothing as syntax — quotes, NEAR, AND/OR/NOT, parentheses, `column:`, `*`, `^` are just
    text for the tokenizer, which drops punctuation. A word such as "e-mail" becomes the phrase
    `e mail*`. Words without a letter or digit (`--`, `'`) are left out, as the index holds none.
    """
    # NUL would end the expression early inside SQLite (C strings): it separates words instead.
    words = [w for w in (q or "").replace("\x00", " ").split() if _WORD.search(w)]
    if not words:
        return None
    return " ".join('"' + w.replace('"', '""') + '"*' for w in words)


def like_condition(q: str | None, col: Any = None) -> ColumnElement[bool]:
    """Every whitespace-separated word of `q` as a case-insensitive substring (ILIKE, escaped)."""
    col = Feedback.text if col is None else col
    terms = []
    for word in (q or "").split():
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        terms.append(col.ilike(f"%{escaped}%", escape="\\"))
    return and_(*terms) if terms else and_(True)


def read_state(conn: Any) -> IndexState:
    """Four single-row reads (the highest id is the end of the primary key): ~0.1 ms."""
    st = SearchIndexState.__table__
    row = conn.execute(
        select(
            select(func.max(Feedback.id)).scalar_subquery(),
            select(FeedbackChanges.changes).where(FeedbackChanges.id == 1).scalar_subquery(),
            select(st.c.value).where(st.c.name == "max_id").scalar_subquery(),
            select(st.c.value).where(st.c.name == "changes").scalar_subquery(),
        )
    ).one()
    return IndexState(
        indexed_max=int(row[2] or 0), indexed_changes=int(row[3] or 0), max_id=int(row[0] or 0),
        changes=int(row[1] or 0),
    )  # fmt: skip


def _set_state(conn: Any, max_id: int, changes: int) -> None:
    for name, value in (("max_id", max_id), ("changes", changes)):
        conn.execute(delete(SearchIndexState).where(SearchIndexState.name == name))
        conn.execute(insert(SearchIndexState).values(name=name, value=value))


# From this many rows to index at once (a large import), FTS5's incremental merging is deferred while
# they go in: each flush of its in-memory terms would otherwise merge segments as the insert goes
# (a third of the time of indexing 300,000 comments). The segments are merged later by the usual
# automerge of the next writes; the index's content, and so every search, is the same.
BULK_INDEX_ROWS = 100_000
# FTS5's documented defaults, for a table that has not set its own.
_MERGE_DEFAULTS = {"automerge": 4, "crisismerge": 16}


_MERGE_SETTINGS = text(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rank) VALUES(:k, :v)")


def _defer_merging(conn: Any) -> dict[str, int]:
    """automerge off and crisismerge high for a bulk insert, inside the caller's transaction; returns
    the table's own values (or the defaults), for `_restore_merging`."""
    stored = conn.execute(
        text(f"SELECT k, v FROM {FTS_TABLE}_config WHERE k IN ('automerge', 'crisismerge')")
    ).all()
    before = {**_MERGE_DEFAULTS, **{str(k): int(v) for k, v in stored}}
    conn.execute(_MERGE_SETTINGS, [{"k": "automerge", "v": 0}, {"k": "crisismerge", "v": 64}])
    return before


def _restore_merging(conn: Any, before: dict[str, int]) -> None:
    conn.execute(_MERGE_SETTINGS, [{"k": k, "v": v} for k, v in before.items()])


@contextlib.contextmanager
def _merging_deferred(conn: Any, bulk: bool) -> Iterator[None]:
    """`_defer_merging` for the length of the block, when `bulk`."""
    if not bulk:
        yield
        return
    before = _defer_merging(conn)
    yield
    _restore_merging(conn, before)


def _index_new_rows(conn: Any, lo: int, hi: int) -> int:
    """Index the comments of feedback rows lo < id <= hi; returns how many."""
    result = conn.execute(
        text(
            f"INSERT INTO {FTS_TABLE}(rowid, text) SELECT id, text FROM feedback"
            " WHERE id > :lo AND id <= :hi AND text IS NOT NULL"
        ),
        {"lo": lo, "hi": hi},
    )
    return max(result.rowcount, 0)


# From this many rows (a size hint) an import indexes its own rows in its transaction; a smaller one (a
# survey answer, an API post) leaves them to the catch-up after its commit, which such callers run in
# the background instead of waiting for it.
IN_BATCH_INDEX_ROWS = 10_000


class BatchIndexer:
    """An import's own rows indexed for search inside its transaction, chunk by chunk as they are
    written (the importer's connection has time for it while the next chunk is read and validated),
    instead of in a second transaction after the commit, which the user waited for. The index and its
    state commit or roll back with the batch.

    Only for a batch of at least IN_BATCH_INDEX_ROWS rows and when the index was current before it
    (`active`); otherwise (small, behind, stale, PostgreSQL) it does nothing and the after-commit
    catch-up (`sync_search_index`) indexes or rebuilds as before.
    Create it inside the import's write transaction, after its first write (the write lock is held)."""

    def __init__(self, conn: Any, expected_rows: int) -> None:
        wanted = has_index(conn.engine) and expected_rows >= IN_BATCH_INDEX_ROWS
        state = read_state(conn) if wanted else None
        self.active = state is not None and state.current
        self._merge: dict[str, int] | None = None
        self._last, self._changes = (state.max_id, state.changes) if state is not None else (0, 0)
        if not self.active:
            return
        if expected_rows >= BULK_INDEX_ROWS:
            self._merge = _defer_merging(conn)

    def add(self, conn: Any, max_id: int) -> int:
        """Index the rows written since the last call (ids up to `max_id`); returns how many."""
        if not self.active or max_id <= self._last:
            return 0
        indexed = _index_new_rows(conn, self._last, max_id)
        self._last = max_id
        return indexed

    def finish(self, conn: Any) -> None:
        """Before the commit: the merge settings back, and the state saying every row is indexed."""
        if not self.active:
            return
        if self._merge is not None:
            _restore_merging(conn, self._merge)
            self._merge = None
        _set_state(conn, self._last, self._changes)


def sync_search_index(engine: Engine, *, wait: bool = True) -> dict[str, Any]:
    """Bring the index up to date: index rows added since (cheap), or rebuild it after deletions
    or edits. Safe to call any time and from several processes: the work runs under SQLite's write
    lock and re-reads the state inside it, so two callers never index a row twice.

    `wait=False` (the search path): give up at once, returning {"skipped": True}, when another
    writer (an import, another sync) holds the lock — the search then still finds every row.
    Returns {"indexed": rows added, "rebuilt": bool, "skipped": bool}. A no-op on PostgreSQL.
    """
    out: dict[str, Any] = {"indexed": 0, "rebuilt": False, "skipped": False}
    if not has_index(engine):
        return out
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        timeout = int(raw.execute("PRAGMA busy_timeout").fetchone()[0])  # on the driver: no
        if not wait:  # SQLAlchemy transaction begins, and the pooled connection gets it back after
            raw.execute("PRAGMA busy_timeout=0")
        try:
            with conn.begin():
                # A write first: takes the write lock before anything is read, so the state read
                # next is the newest and nobody else changes feedback or the index meanwhile.
                conn.execute(
                    update(SearchIndexState)
                    .where(SearchIndexState.name == "max_id")
                    .values(value=SearchIndexState.value)
                )
                state = read_state(conn)
                bulk = state.stale or state.max_id - state.indexed_max >= BULK_INDEX_ROWS
                with _merging_deferred(conn, bulk):
                    if state.stale:
                        conn.execute(text(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES('rebuild')"))
                        out["rebuilt"] = True
                        out["indexed"] = state.max_id
                    elif state.behind:
                        out["indexed"] = _index_new_rows(conn, state.indexed_max, state.max_id)
                if not state.current:
                    _set_state(conn, state.max_id, state.changes)
        except exc.OperationalError as e:
            if wait or "locked" not in str(e).lower():
                raise
            out["skipped"] = True
        finally:
            if not wait:
                raw.execute(f"PRAGMA busy_timeout={timeout}")
    return out


_syncing = threading.Lock()  # one catch-up at a time per process; other requests do not queue


def ensure_synced(engine: Engine) -> IndexState:
    """The search path's check (~0.1 ms): catch the index up when it is behind, without ever waiting
    for a lock; returns the state to search with (it may still be behind or stale)."""
    with engine.connect() as conn:
        state = read_state(conn)
    if state.current or not _syncing.acquire(blocking=False):
        return state
    try:
        sync_search_index(engine, wait=False)
    except Exception as e:  # a search must not fail because the catch-up did
        log.warning("search index catch-up failed: %s", e)
    finally:
        _syncing.release()
    with engine.connect() as conn:
        return read_state(conn)


def search_condition(
    engine: Engine, q: str | None, *, walk_time: bool = False
) -> ColumnElement[bool] | TextClause | None:
    """The WHERE clause for `q` over Feedback, or None when `q` is empty.

    SQLite with word characters in `q`: ids from the index, plus rows newer than the index tested
    with LIKE (so nothing is missed before a catch-up). Otherwise, or with a stale index: LIKE.
    `walk_time` (many rows match): test the ids as `id + 0 IN (…)`, so SQLite walks the received_at
    index newest first, stopping after a page, instead of fetching every match by id and sorting.
    """
    if not (q or "").split():
        return None
    if engine.dialect.name == "postgresql":
        tsq = tsquery_expression(q)
        if tsq is None:
            return like_condition(q)
        return text(f"{TSVECTOR_SQL} @@ to_tsquery('simple'::regconfig, :tsq)").bindparams(tsq=tsq)
    expr = match_expression(q) if has_index(engine) else None
    if expr is None:
        return like_condition(q)
    state = ensure_synced(engine)
    if state.stale:
        return like_condition(q)
    indexed = select(_fts.c.rowid).where(_fts.c.text.match(expr))
    matched: Select[Any] | CompoundSelect[Any] = indexed
    if state.behind:
        newer = Feedback.__table__.alias("feedback_new")
        matched = indexed.union_all(
            select(newer.c.id).where(newer.c.id > state.indexed_max, like_condition(q, newer.c.text))
        )
    return ((Feedback.id + 0) if walk_time else Feedback.id).in_(matched)
