"""Theme proposals a person reviews before they join the taxonomy: propose, then accept, rename, merge.

The web app's discovery flow (web/pages/themes_discover.py) in two steps, as a service so the page
holds no logic:

1. `propose` runs discovery over one source's comments and returns the proposals with a fingerprint
   of the comments it saw (how many, the newest id);
2. `accept` takes the person's choices per proposal (keep or drop, a new name, merge into another)
   and writes them: the accepted proposals are saved with discovery's own matcher (`save_discovery`),
   then merges and drops go through the taxonomy's own operations, which keep the matchers right.

Between the two steps the proposal lives in a small per-process cache. A server with several
workers may answer the second step from another process: discovery is deterministic for the same
comments and seed, so it is run again there, and the fingerprint refuses the accept when the
comments changed in between (the person would be accepting themes they have not seen).

`backlog` says how many comments are not analysed yet, and whether an analysis is running: the
progress the Themes page shows while `analyze` works, read from the database so every worker agrees.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from cxchange.core.errors import InputError
from cxchange.listen.models import Feedback, Source
from cxchange.understand.discovery import discover, save_discovery
from cxchange.understand.models import AnalysisRun, FeedbackSentiment
from cxchange.understand.themes.taxonomy import delete_theme, merge_themes

# An analysis still "running" after this long was left by a process that died.
RUN_GIVEN_UP_AFTER = timedelta(hours=2)
_CACHE_SIZE = 4
_cache: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class Choice:
    """What the person decided about proposal `index`: keep it (under `name`), drop it, or merge it
    into proposal `merge_into` (kept itself)."""

    index: int
    keep: bool = True
    name: str | None = None
    merge_into: int | None = None


def fingerprint(engine: Engine, source: str | None) -> str:
    """How many comments discovery would read, and the newest one: changes when comments arrive."""
    stmt = select(func.count(Feedback.id), func.max(Feedback.id)).where(Feedback.text.is_not(None))
    if source:
        stmt = stmt.where(Feedback.source_id.in_(select(Source.id).where(Source.name == source)))
    with engine.connect() as conn:
        n, newest = conn.execute(stmt).one()
    return f"{int(n or 0)}-{int(newest or 0)}"


def _key(source: str | None, max_themes: int, seed: int, embedder: str, print_: str) -> tuple[Any, ...]:
    return (source, max_themes, seed, embedder, print_)


def propose(
    engine: Engine, *, source: str | None, max_themes: int = 10, seed: int = 0, embedder: str = "adaptive"
) -> dict[str, Any]:
    """Discovery's proposals for `source`'s comments (all sources when None), with their fingerprint."""
    if not 2 <= max_themes <= 30:
        raise InputError(f"max themes wants 2 to 30, got {max_themes}")
    if source is not None:
        with engine.connect() as conn:
            if conn.scalar(select(Source.id).where(Source.name == source)) is None:
                raise InputError(f"no source {source!r}")
    print_ = fingerprint(engine, source)
    key = _key(source, max_themes, seed, embedder, print_)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    result = discover(engine, source=source, max_themes=max_themes, seed=seed, embedder=embedder)
    result = {**result, "fingerprint": print_, "source": source, "max_themes": max_themes}
    with _cache_lock:
        _cache[key] = result
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return result


def _apply_names(themes: list[dict[str, Any]], choices: dict[int, Choice]) -> list[dict[str, Any]]:
    """The proposals under their new names (children follow a renamed parent)."""
    renamed = {}
    for i, t in enumerate(themes):
        c = choices.get(i)
        new = (c.name or "").strip() if c else ""
        renamed[t["name"]] = new or t["name"]
    lowered = [n.lower() for n in renamed.values()]
    clash = sorted({n for n in renamed.values() if lowered.count(n.lower()) > 1})
    if clash:
        raise InputError(f"two proposals would have the same name: {', '.join(clash)}")
    return [{**t, "name": renamed[t["name"]], "parent": renamed.get(t["parent"] or "")} for t in themes]


def accept(
    engine: Engine,
    *,
    source: str | None,
    max_themes: int,
    seed: int,
    embedder: str,
    expected_fingerprint: str,
    choices: list[Choice],
) -> dict[str, Any]:
    """Save the kept proposals (renamed), merge the merged ones into their targets, drop the rest."""
    now = fingerprint(engine, source)
    if now != expected_fingerprint:
        raise InputError("the comments changed since these themes were proposed: propose them again")
    result = propose(engine, source=source, max_themes=max_themes, seed=seed, embedder=embedder)
    themes = result["themes"]
    by_index = {c.index: c for c in choices}
    for c in choices:
        if not 0 <= c.index < len(themes):
            raise InputError(f"no proposal {c.index}")
        if c.merge_into is not None:
            target = by_index.get(c.merge_into)
            if c.merge_into == c.index or not 0 <= c.merge_into < len(themes):
                raise InputError(f"proposal {c.index} cannot be merged into {c.merge_into}")
            if target is not None and (not target.keep or target.merge_into is not None):
                raise InputError(f"proposal {c.index} is merged into one that is itself dropped or merged")
    named = _apply_names(themes, by_index)
    index_of = {t["name"]: i for i, t in enumerate(named)}

    def dropped(i: int) -> bool:  # dropping a parent drops its children
        c = by_index.get(i)
        if c is not None and not c.keep and c.merge_into is None:
            return True
        parent = named[i]["parent"]
        return parent is not None and dropped(index_of[parent])

    drop = [named[i]["name"] for i in range(len(named)) if dropped(i)]
    merge = [(named[c.index]["name"], named[c.merge_into]["name"]) for c in choices
             if c.merge_into is not None and not dropped(c.index)]  # fmt: skip
    if len(drop) + len(merge) >= len(named):
        raise InputError("no proposal kept: tick at least one")
    saved = save_discovery(engine, {**result, "themes": named})
    for name, into in merge:
        merge_themes(engine, [name], into)
    for name in reversed(drop):  # children (listed after their parent) first
        delete_theme(engine, name)
    with _cache_lock:
        _cache.pop(_key(source, max_themes, seed, embedder, now), None)
    return {
        "saved": len(named) - len(drop) - len(merge),
        "merged": [name for name, _ in merge],
        "dropped": drop,
        "taxonomy": saved,
    }


def backlog(engine: Engine, now: datetime | None = None) -> dict[str, Any]:
    """Comments with text, how many are analysed, and whether an analysis is running right now."""
    now = now or datetime.utcnow()
    with engine.connect() as conn:
        comments = int(conn.scalar(select(func.count()).where(Feedback.text.is_not(None))) or 0)
        analysed = int(conn.scalar(select(func.count()).select_from(FeedbackSentiment)) or 0)
        running = conn.execute(
            select(AnalysisRun.id, AnalysisRun.started_at)
            .where(AnalysisRun.status == "running", AnalysisRun.started_at >= now - RUN_GIVEN_UP_AFTER)
            .order_by(AnalysisRun.id.desc())
            .limit(1)
        ).first()
    return {
        "comments": comments,
        "analysed": min(analysed, comments),
        "not_analysed": max(comments - analysed, 0),
        "running": running is not None,
        "run": running[0] if running else None,
    }
