"""Word search over feedback: the FTS5 index on SQLite (caught up, never triggered), ILIKE elsewhere."""

from __future__ import annotations

import random
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, text, update

from cxchange.listen import search
from cxchange.listen.models import Feedback
from cxchange.listen.service import ImportOptions, import_file
from cxchange.understand import explore

# --- the MATCH expression: user text is never FTS5 syntax ------------------------------------------

VOCAB = ("queue", "queues", "wait", "waited", "near", "and", "or", "not", "text", "refund", "e", "mail", "x1")
SYNTAX = (
    '"',
    "'",
    "*",
    "^",
    "(",
    ")",
    ":",
    "-",
    "+",
    "{",
    "}",
    ",",
    ".",
    "NEAR",
    "AND",
    "OR",
    "NOT",
    "text:",
)


def _corpus() -> list[str]:
    rng = random.Random(7)
    seps = (" ", ", ", "-", ". ", "; ", '"', "(", ")", "*", ":")
    rows = []
    for _ in range(300):
        words = [rng.choice(VOCAB) for _ in range(rng.randint(1, 8))]
        rows.append("".join(w + rng.choice(seps) for w in words).strip())
    return [*rows, "queues were long, waited", "NEAR(queue wait)", 'text: "refund" OR NOT e-mail']


CORPUS = _corpus()
_db: sqlite3.Connection | None = None


def _fts() -> sqlite3.Connection:
    """CORPUS in a feedback table with the migration's index over it (built once)."""
    global _db
    if _db is None:
        _db = sqlite3.connect(":memory:")
        _db.execute("CREATE TABLE feedback (id INTEGER PRIMARY KEY, text TEXT)")
        _db.execute(search.FTS_DDL)
        _db.executemany("INSERT INTO feedback VALUES (?, ?)", list(enumerate(CORPUS, start=1)))
        _db.execute("INSERT INTO feedback_fts(feedback_fts) VALUES('rebuild')")
    return _db


def _fts_ids(expr: str) -> set[int]:
    return {
        r[0] for r in _fts().execute("SELECT rowid FROM feedback_fts WHERE feedback_fts MATCH ?", (expr,))
    }


def _tokens(s: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", s.lower())  # ASCII: what unicode61 keeps, case-folded


def _reference(q: str) -> set[int]:
    """Rows where every word of q (its letters and digits, in order) starts a run of words."""
    wanted = [t for t in (_tokens(w) for w in q.split()) if t]
    out = set()
    for i, row in enumerate(CORPUS, start=1):
        toks = _tokens(row)

        def has(sub: list[str], toks: list[str] = toks) -> bool:
            k = len(sub)
            return any(
                toks[j : j + k - 1] == sub[:-1] and toks[j + k - 1].startswith(sub[-1])
                for j in range(len(toks) - k + 1)
            )

        if all(has(sub) for sub in wanted):
            out.add(i)
    return out


_piece = st.one_of(
    st.sampled_from(VOCAB).flatmap(lambda w: st.integers(1, len(w)).map(lambda n: w[:n])),
    st.sampled_from(VOCAB).map(str.upper),
    st.sampled_from(SYNTAX),
)
_word = st.lists(_piece, min_size=1, max_size=4).map("".join)
_query = st.lists(_word, min_size=1, max_size=4).map(" ".join)


@settings(max_examples=400, deadline=None)
@given(_query)
def test_match_expression_is_words_as_prefixes_never_syntax(q: str) -> None:
    expr = search.match_expression(q)
    if expr is None:  # no letter or digit anywhere: the caller searches with LIKE
        assert not _tokens(q)
        return
    assert _fts_ids(expr) == _reference(q)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_text_makes_a_valid_expression(q: str) -> None:
    expr = search.match_expression(q)
    if expr is not None:
        _fts_ids(expr)  # never an FTS5 syntax error, whatever the user typed


def test_match_expression_examples() -> None:
    assert search.match_expression("queue wait") == '"queue"* "wait"*'
    assert search.match_expression('say "hi"') == '"say"* """hi"""*'
    assert search.match_expression("-- ' %") is None
    assert search.match_expression("   ") is None
    assert _fts_ids(search.match_expression("queue wait") or "") >= {len(CORPUS) - 2}
    near = _fts_ids(search.match_expression("NEAR(queue wait)") or "")  # the words "near queue", "wait"
    assert len(CORPUS) - 1 in near and near == _reference("NEAR(queue wait)")
    assert len(CORPUS) in _fts_ids(search.match_expression("text:") or "")


# --- through the explorer ------------------------------------------------------------------------

ROWS = [
    "Queues were long, waited an hour",
    "Refund took ages",
    "the café was lovely",
    "e-mail never came",
    "' OR 1=1 -- and 100% sure_thing",
    "",
    "<script>alert(1)</script> see www.example.org/help",
]


def _import(
    engine: Engine,
    tmp_path: Path,
    texts: list[str],
    start: int = 0,
    name: str = "a.csv",
    sync: bool = False,
    in_batch: bool = False,
) -> None:
    """Import `texts`; without `sync`, the import's own indexing (in its transaction, and the catch-up
    after the commit) is switched off so the tests can see the search path catch up (as after a failed
    catch-up, or rows added another way). `in_batch`: only the catch-up after the commit is off."""
    from unittest import mock

    lines = ["id,When,NPS,Comment"]
    for i, t in enumerate(texts, start=start):
        lines.append(f'{i},2026-02-{i % 28 + 1:02d} 10:00:00,5,"{t}"')
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    if sync:
        import_file(engine, path, ImportOptions(source="s"))
        return
    from cxchange.core import events

    def inactive(self: search.BatchIndexer, _conn: Any, _rows: int) -> None:
        self.active = False

    events.subscribers(events.BATCH_IMPORTED)  # the registry loaded, so its entry can be swapped
    # in_batch: the import indexes its rows in its transaction whatever its size (a few rows here).
    own = (
        mock.patch.object(search, "IN_BATCH_INDEX_ROWS", 0)
        if in_batch
        else mock.patch.object(search.BatchIndexer, "__init__", inactive)
    )
    with mock.patch.dict(events._subscribers[events.BATCH_IMPORTED], {"search_index": lambda e, p: {}}), own:
        import_file(engine, path, ImportOptions(source="s"))


def test_an_import_indexes_its_rows(sqlite_engine: Engine, tmp_path: Path) -> None:
    _import(sqlite_engine, tmp_path, ROWS, sync=True)
    assert _state(sqlite_engine).current
    assert _found(sqlite_engine, "refund") == [ROWS[1]]


def _fts_count(engine: Engine, word: str) -> int:
    with engine.connect() as conn:
        match = text("SELECT count(*) FROM feedback_fts WHERE feedback_fts MATCH :w")
        return int(conn.execute(match, {"w": word}).scalar() or 0)


def test_an_import_indexes_its_rows_in_its_own_transaction(sqlite_engine: Engine, tmp_path: Path) -> None:
    """The index was current: the import indexes its rows before its commit, the catch-up after it
    (switched off here) has nothing left to do, and nothing is indexed twice."""
    _import(sqlite_engine, tmp_path, ROWS, in_batch=True)
    assert _state(sqlite_engine).current
    assert _fts_count(sqlite_engine, "refund") == 1
    _import(sqlite_engine, tmp_path, ["another refund please"], start=100, name="b.csv", in_batch=True)
    assert _state(sqlite_engine).current
    assert search.sync_search_index(sqlite_engine) == {"indexed": 0, "rebuilt": False, "skipped": False}
    assert _fts_count(sqlite_engine, "refund") == 2
    assert _found(sqlite_engine, "refund") == [ROWS[1], "another refund please"]


def test_an_import_behind_the_index_leaves_it_to_the_catch_up(sqlite_engine: Engine, tmp_path: Path) -> None:
    _import(sqlite_engine, tmp_path, ROWS)  # rows the index does not have yet
    _import(sqlite_engine, tmp_path, ["another refund please"], start=100, name="b.csv", in_batch=True)
    assert _state(sqlite_engine).behind  # the import indexed nothing: the catch-up indexes both
    assert _fts_count(sqlite_engine, "refund") == 0
    assert search.sync_search_index(sqlite_engine)["indexed"] == len([t for t in ROWS if t.strip()]) + 1
    assert _state(sqlite_engine).current
    assert _fts_count(sqlite_engine, "refund") == 2


def test_a_failed_import_leaves_neither_rows_nor_index_entries(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cxchange.listen import store

    _import(sqlite_engine, tmp_path, ROWS, sync=True)
    before = _state(sqlite_engine)

    def fail(self: store.SqliteFeedbackWriter) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(store.SqliteFeedbackWriter, "close", fail)  # after every chunk is indexed
    monkeypatch.setattr(search, "IN_BATCH_INDEX_ROWS", 0)  # indexed in the batch, whatever its size
    with pytest.raises(RuntimeError):
        _import(sqlite_engine, tmp_path, ["another refund please"], start=100, name="b.csv", sync=True)
    assert _state(sqlite_engine) == before
    assert _fts_count(sqlite_engine, "refund") == 1


def _found(engine: Engine, q: str) -> list[str]:
    f = explore.FeedbackFilter(q=q)
    n, exact = explore.count(engine, f)
    rows = explore.page(engine, f, many=explore.is_many(n, exact)).rows
    assert len(rows) == n
    return sorted(r["text"] for r in rows)


def test_search_words_on_both_databases(engine: Engine, tmp_path: Path) -> None:
    _import(engine, tmp_path, ROWS)
    assert _found(engine, "queue wait") == [ROWS[0]]
    assert _found(engine, "REFUND") == [ROWS[1]]
    assert _found(engine, "mail") == [ROWS[3]]
    assert _found(engine, "nothing-like-this") == []
    # SQL and FTS syntax are literal; a q without letters or digits is a substring search.
    for q in (
        "' OR 1=1 --",
        '"; DROP TABLE feedback; --',
        "NEAR(refund took)",
        "text:refund",
        "refund*",
        "^refund",
    ):
        _found(engine, q)
    # The same words give the same rows on both: word prefixes, not substrings; "e-mail" as a phrase.
    assert _found(engine, "ueue") == []
    assert _found(engine, "e-mail") == [ROWS[3]]
    assert _found(engine, "Queue waited") == [ROWS[0]]
    assert _found(engine, "100%") == [ROWS[4]]
    assert _found(engine, "script alert") == [ROWS[6]]  # not an HTML tag to drop: words, as FTS5 reads them
    assert _found(engine, "example help") == [ROWS[6]]  # an address is words too
    assert _found(engine, "%") == [ROWS[4]]
    assert _found(engine, "_") == [ROWS[4]]
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Feedback)) == len(ROWS)


def test_word_prefix_and_accents_on_sqlite(sqlite_engine: Engine, tmp_path: Path) -> None:
    _import(sqlite_engine, tmp_path, ROWS)
    assert _found(sqlite_engine, "cafe") == [ROWS[2]]  # remove_diacritics


def test_cli_api_and_explorer_search_alike(engine: Engine, tmp_path: Path) -> None:
    """The CLI and the API list through explore.list_feedback: the same rows as the explorer's pages."""
    _import(engine, tmp_path, ROWS)
    for q in ("queue", "mail", "ueue", "100%", "refund took"):
        listed = sorted(r["text"] for r in explore.list_feedback(engine, q=q, limit=100))
        assert listed == _found(engine, q), q


def test_tsquery_expression() -> None:
    assert search.tsquery_expression("Refund took") == "(refund:*) & (took:*)"
    assert search.tsquery_expression("e-mail") == "(e <-> mail:*)"
    assert search.tsquery_expression("' OR 1=1 -- :* & !x") == "(or:*) & (1 <-> 1:*) & (x:*)"
    assert search.tsquery_expression("-- %") is None


def test_postgres_search_uses_its_index(postgres_url: str, tmp_path: Path) -> None:
    from cxchange.core.db import get_engine

    engine = get_engine(postgres_url)
    _import(engine, tmp_path, ROWS, name="pg.csv")
    cond = search.search_condition(engine, "refund")
    assert cond is not None
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL enable_seqscan = off"))  # a tiny table: ask whether it *can* use it
        sql = select(Feedback.id).where(cond).compile(engine, compile_kwargs={"literal_binds": True})
        plan = "\n".join(r[0] for r in conn.execute(text(f"EXPLAIN {sql}")))
    assert "ix_feedback_text_search" in plan, plan


def _state(engine: Engine) -> search.IndexState:
    with engine.connect() as conn:
        return search.read_state(conn)


def test_index_catches_up_and_never_misses_rows(sqlite_engine: Engine, tmp_path: Path) -> None:
    _import(sqlite_engine, tmp_path, ROWS)
    assert _state(sqlite_engine).behind  # this import did not catch the index up
    assert _found(sqlite_engine, "refund") == [ROWS[1]]  # the first search caught it up
    assert _state(sqlite_engine).current
    _import(sqlite_engine, tmp_path, ["another refund please", "queue"], start=100, name="b.csv")
    # Another request is catching up (or a writer holds the lock): the new rows are still found.
    with search._syncing:
        assert _state(sqlite_engine).behind
        assert _found(sqlite_engine, "refund") == [ROWS[1], "another refund please"]
        assert _state(sqlite_engine).behind
    assert search.sync_search_index(sqlite_engine) == {"indexed": 2, "rebuilt": False, "skipped": False}
    assert search.sync_search_index(sqlite_engine) == {"indexed": 0, "rebuilt": False, "skipped": False}
    assert _found(sqlite_engine, "refund") == [ROWS[1], "another refund please"]
    with sqlite_engine.connect() as conn:  # nothing indexed twice
        n = conn.execute(text("SELECT count(*) FROM feedback_fts WHERE feedback_fts MATCH 'refund'")).scalar()
    assert n == 2


def test_edits_and_deletions_rebuild_the_index(sqlite_engine: Engine, tmp_path: Path) -> None:
    _import(sqlite_engine, tmp_path, ROWS)
    search.sync_search_index(sqlite_engine)
    with sqlite_engine.begin() as conn:
        conn.execute(update(Feedback).where(Feedback.text == ROWS[1]).values(text="credit note took ages"))
    assert _state(sqlite_engine).stale
    with search._syncing:  # not rebuilt yet: LIKE over everything, never the old words
        assert _found(sqlite_engine, "refund") == []
        assert _found(sqlite_engine, "credit") == ["credit note took ages"]
    assert _found(sqlite_engine, "refund") == []  # this search rebuilt the index
    assert _state(sqlite_engine).current
    assert _found(sqlite_engine, "credit note") == ["credit note took ages"]
    with sqlite_engine.begin() as conn:
        conn.execute(Feedback.__table__.delete().where(Feedback.text == "credit note took ages"))
    assert search.sync_search_index(sqlite_engine)["rebuilt"]
    assert _found(sqlite_engine, "credit") == []


def test_search_never_waits_for_a_writer(sqlite_engine: Engine, tmp_path: Path) -> None:
    _import(sqlite_engine, tmp_path, ROWS)
    writer = sqlite3.connect(str(sqlite_engine.url.database), timeout=0)
    try:
        writer.execute("BEGIN IMMEDIATE")  # an import in progress holds the write lock
        assert search.sync_search_index(sqlite_engine, wait=False)["skipped"]
        assert _found(sqlite_engine, "queue") == [ROWS[0]]  # found with LIKE meanwhile
        assert _state(sqlite_engine).behind
    finally:
        writer.rollback()
        writer.close()
    with sqlite_engine.connect() as conn:  # the connection went back to the pool with its timeout
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    assert search.sync_search_index(sqlite_engine)["indexed"] == len(ROWS) - 1  # the empty comment


def test_postgresql_has_no_index(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        assert search.has_index(engine)
        return
    assert search.sync_search_index(engine) == {"indexed": 0, "rebuilt": False, "skipped": False}


def test_a_bulk_catch_up_defers_merging_and_finds_the_same(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large catch-up inserts with FTS5's automerge off, then puts the table's settings back."""
    monkeypatch.setattr(search, "BULK_INDEX_ROWS", 1)
    with sqlite_engine.begin() as conn:  # a setting of the table's own survives the bulk insert
        conn.execute(text("INSERT INTO feedback_fts(feedback_fts, rank) VALUES('crisismerge', 20)"))
    _import(sqlite_engine, tmp_path, ROWS)
    assert search.sync_search_index(sqlite_engine)["indexed"] == len([r for r in ROWS if r])
    assert _found(sqlite_engine, "refund") == [ROWS[1]]
    assert _found(sqlite_engine, "queue wait") == [ROWS[0]]
    with sqlite_engine.connect() as conn:
        config = dict(conn.execute(text("SELECT k, v FROM feedback_fts_config WHERE k LIKE '%merge'")).all())
        check = conn.execute(text("INSERT INTO feedback_fts(feedback_fts) VALUES('integrity-check')"))
        check.close()
    assert config == {"automerge": 4, "crisismerge": 20}
