"""Saved discovered themes assign comments the way discovery grouped them (issue 15), end to end."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cxchange.core.db import get_engine
from cxchange.core.errors import CxError, InputError
from cxchange.demo.generator import generate
from cxchange.demo.load import load_demo
from cxchange.understand.analyze import analyze
from cxchange.understand.discovery import discover, save_discovery
from cxchange.understand.explore import list_feedback
from cxchange.understand.models import FeedbackTheme, ThemeMatcher
from cxchange.understand.themes import taxonomy as tx

ROWS = 1_200


def _fresh(engine: Engine) -> None:
    load_demo(engine, generate(rows=ROWS, seed=7), analyse=False)


def _discover_and_analyse(engine: Engine) -> dict:
    result = discover(engine, embedder="tfidf", seed=0)
    result["saved"] = save_discovery(engine, result)
    analyze(engine)
    return result


def _assignments(engine: Engine) -> set[tuple[int, str, float | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(FeedbackTheme.feedback_id, tx.Theme.name, FeedbackTheme.relevance).join(
                tx.Theme, tx.Theme.id == FeedbackTheme.theme_id
            )
        ).all()
    return {(int(f), n, r) for f, n, r in rows}


def test_saved_themes_keep_their_matcher_and_comments_carry_few_relevant_themes(engine: Engine) -> None:
    _fresh(engine)
    result = _discover_and_analyse(engine)
    assert result["saved"]["matcher"] is not None
    rows = list_feedback(engine, limit=ROWS + 10)
    analysed = [r for r in rows if r["text"]]
    counts = [len(r["themes"]) for r in analysed]
    assert statistics.median(counts) <= 3
    assert sum(c == 0 for c in counts) <= 0.15 * len(analysed)
    for r in analysed:
        rel = [x["relevance"] for x in r["theme_relevance"]]
        assert rel == sorted(rel, reverse=True)
        assert r["primary_theme"] == (r["themes"][0] if r["themes"] else None)
    # Before issue 15 the saved keywords were re-matched as rules: most themes on most comments.
    n_themes = len(result["themes"])
    assert statistics.mean(counts) < 0.4 * n_themes
    # A discovered parent groups its sub-themes: its keywords are no rules, it is no extra theme.
    parents = {t["parent"] for t in result["themes"] if t["parent"]}
    assert parents and not parents & {n for r in analysed for n in r["themes"]}


def test_export_import_keeps_the_matcher_and_gives_the_same_themes(engine: Engine, tmp_path: Path) -> None:
    _fresh(engine)
    _discover_and_analyse(engine)
    with pytest.raises(InputError, match="--out"):
        tx.export_yaml(engine)  # stdout cannot carry the matcher: an error, not a silent loss
    path = tmp_path / "t.yaml"
    tx.export_yaml(engine, path)
    assert (tmp_path / "t.matchers.npz").is_file()

    other = get_engine(f"sqlite:///{tmp_path / 'other.db'}")
    _fresh(other)
    assert tx.import_yaml(other, path)["matchers"] == 1
    analyze(other)
    assert _assignments(other) == _assignments(engine)  # same comments, same taxonomy: same themes

    (tmp_path / "t.matchers.npz").write_bytes(b"damaged")
    with pytest.raises(InputError, match="checksum"):
        tx.import_yaml(other, path)
    (tmp_path / "t.matchers.npz").unlink()
    with pytest.raises(InputError, match="cannot be read"):
        tx.import_yaml(other, path)


def test_merge_adds_relevance_and_delete_drops_the_theme(engine: Engine) -> None:
    _fresh(engine)
    result = _discover_and_analyse(engine)
    leaves = [
        t["name"] for t in result["themes"] if not any(c["parent"] == t["name"] for c in result["themes"])
    ]
    a, b = leaves[0], leaves[1]
    before = {(f, n): r for f, n, r in _assignments(engine)}
    tx.merge_themes(engine, [b], into=a)
    analyze(engine)
    after = {(f, n): r for f, n, r in _assignments(engine)}
    both = [f for (f, n) in before if n == a and (f, b) in before]
    for f in both:  # a comment about both is now about the merged theme at least as much
        assert after[(f, a)] >= max(before[(f, a)], before[(f, b)]) - 1e-9
    assert not any(n == b for _, n in after)
    tx.delete_theme(engine, a)
    with Session(engine) as s:
        assert all(
            tid is None or tid not in {t.id for t in tx.active_themes(s) if t.name == a}
            for m in s.scalars(select(ThemeMatcher))
            for tid in m.theme_ids
        )
    analyze(engine)
    assert not any(n == a for _, n, _ in _assignments(engine))


def test_too_broad_keyword_rules_are_reported(engine: Engine) -> None:
    from cxchange.understand.service import theme_stats

    _fresh(engine)
    tx.add_theme(engine, "Everything", keywords=["the"])
    tx.add_theme(engine, "Refunds", keywords=["refund"])
    analyze(engine)
    rows = {r["name"]: r for r in theme_stats(engine, n_boot=50)}
    assert rows["Everything"]["too_broad"] == ["the"]
    assert rows["Refunds"]["too_broad"] == []


def test_fresh_database_says_what_to_do(engine: Engine) -> None:
    _fresh(engine)
    result = analyze(engine)
    assert "cx_default" in result["warning"] and "discover" in result["warning"]


def _import(engine: Engine, tmp_path: Path, source: str, texts: list[str]) -> None:
    from cxchange.listen.service import ImportOptions, import_file

    path = tmp_path / f"{source}.csv"
    path.write_text("text\n" + "".join(f'"{t}"\n' for t in texts), encoding="utf-8")
    import_file(engine, path, ImportOptions(source=source, map_options=("text=text",)))


def test_bad_input_is_a_clear_error(sqlite_engine: Engine, tmp_path: Path) -> None:
    _import(sqlite_engine, tmp_path, "tiny", [f"comment number {i} about the queue" for i in range(5)])
    with pytest.raises(InputError, match="at least"):
        discover(sqlite_engine, source="tiny", embedder="tfidf")
    _import(sqlite_engine, tmp_path, "links", [f"@someone{i % 3} https://t.co/x{i}" for i in range(40)])
    with pytest.raises(CxError, match="no themes found"):
        discover(sqlite_engine, source="links", embedder="tfidf")


def test_a_theme_nobody_in_scope_mentions_is_no_driver(engine: Engine) -> None:
    from cxchange.decide.data import load_respondents, theme_driver_frame

    _fresh(engine)
    from cxchange.understand.cli_taxonomy import builtin_taxonomy

    tx.import_yaml(engine, builtin_taxonomy("cx_default"))
    tx.add_theme(engine, "Zeppelins", keywords=["zeppelin"])
    analyze(engine)
    r = load_respondents(engine)
    assert "Zeppelins" not in r.themes.values()
    _, predictors, _, notes = theme_driver_frame(engine, target="nps", respondents=r)
    assert "Zeppelins" not in predictors
    assert any(n.startswith("Zeppelins") for n in notes)
    with pytest.raises(InputError, match="no analysed comment"):
        r.theme_id("Zeppelins")


def test_a_discovered_parent_counts_its_sub_themes_comments_once(engine: Engine) -> None:
    """A discovered parent is never assigned itself; the report counts it by the comments of its
    sub-themes, each comment once (it showed 0 mentions under a page saying children count for it),
    and the feedback filter on it lists them (it listed none)."""
    from cxchange.understand import explore
    from cxchange.understand.service import theme_stats

    _fresh(engine)
    _discover_and_analyse(engine)
    themes = tx.theme_rows(engine)
    children: dict[int, list[int]] = {}
    for t in themes:
        if t["parent_id"] is not None:
            children.setdefault(t["parent_id"], []).append(t["id"])
    assert children, "discovery on the demo nests sub-themes"
    with Session(engine) as session:
        pairs = session.execute(select(FeedbackTheme.feedback_id, FeedbackTheme.theme_id)).all()
    rows = {r["id"]: r for r in theme_stats(engine, n_boot=0)}
    for parent, kids in children.items():
        below = set(kids) | {g for k in kids for g in children.get(k, [])} | {parent}
        expected = len({f for f, t in pairs if t in below})
        assert rows[parent]["count"] == expected > 0
        # ... and filtering the feedback by it lists those comments (the page's link to them)
        assert explore.total(engine, explore.FeedbackFilter(theme=str(parent))) == expected
    leaf = next(t["id"] for t in themes if t["id"] not in children)
    assert rows[leaf]["count"] == sum(1 for _, t in pairs if t == leaf)


def test_a_second_discovery_replaces_the_first(engine: Engine) -> None:
    """`themes discover --save` again (fewer themes here, so other names): the first discovery's themes it
    does not propose are retired with their assignments. Both were kept, and each comment got a theme
    from each (restaurant reviews: "Aroma" and "Chicken biryani" on the same 796). Curated stay."""
    _fresh(engine)
    tx.add_theme(engine, "Zeppelins", keywords=["zeppelin"])
    first = _discover_and_analyse(engine)
    second = discover(engine, embedder="tfidf", seed=0, max_themes=4)
    second["saved"] = save_discovery(engine, second)
    analyze(engine)
    old, new = {t["name"] for t in first["themes"]}, {t["name"] for t in second["themes"]}
    assert old - new, "the smaller discovery proposes other themes"
    assert set(second["saved"]["retired_themes"]) == old - new
    active = {t["name"]: t["origin"] for t in tx.theme_rows(engine)}
    assert {n for n, o in active.items() if o == "discovered"} == new and "Zeppelins" in active
    assert not {n for _, n, _ in _assignments(engine)} - set(active)  # no comment keeps a retired theme
    counts = [len(r["themes"]) for r in list_feedback(engine, limit=ROWS + 10) if r["text"]]
    assert statistics.median(counts) <= 3
