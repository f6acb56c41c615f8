"""`cxchange themes discover`: propose themes from stored comments, optionally save them.

Python callers (the web page too) use the same three steps as the CLI: `discover` proposes (the result
carries the fitted matcher under ``"model"`` and the comments' embeddings under ``"vectors"``, which are
not JSON: drop `NOT_JSON` before printing), the caller may
rename proposals in ``result["themes"]``, `save_discovery` stores themes and matcher, then
`cxchange.understand.analyze.analyze` (with a progress callback) assigns them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Engine, select

from cxchange.core.errors import InputError
from cxchange.core.migrate import ensure_schema
from cxchange.core.period import Period
from cxchange.listen.models import Feedback
from cxchange.listen.query import apply_filters, scope_filters
from cxchange.understand.models import Theme
from cxchange.understand.sentiment.language import detect_language
from cxchange.understand.themes.discover import discover_themes
from cxchange.understand.themes.embedders import EMBEDDERS, resolve
from cxchange.understand.themes.matcher import TOO_BROAD, Matcher, ThemeSpec
from cxchange.understand.themes.matchers import save_matcher
from cxchange.understand.themes.normalise import normalise
from cxchange.understand.themes.taxonomy import current_version, import_nodes, retire_superseded
from cxchange.understand.themes.text import tokenise
from cxchange.understand.vectors import store_vectors

# Discovery is a sample-based proposal: past this many comments, more text changes little but time.
MAX_COMMENTS = 50_000
MIN_COMMENTS = 20  # fewer comments cannot show which words separate subjects
BROAD_SAMPLE = 5000  # comments the too-broad check reads (an even spread)
NOT_JSON = ("model", "vectors")  # keys of a discovery result that are for `save_discovery` only
LANGUAGE_SAMPLE = 5000  # comments whose language is told (an even spread) to say how many are not English
FOREIGN_NOTE = 0.05  # from this share of comments in other languages on, the result says so
PROGRESS_FROM = 5000  # comments from which discovery takes long enough to say first what it reads


def discover(
    engine: Engine,
    *,
    source: str | None = None,
    since: date | None = None,
    where: Sequence[str] = (),
    max_themes: int = 12,
    seed: int = 0,
    max_comments: int = MAX_COMMENTS,
    embedder: str = "adaptive",
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """``embedder``: "adaptive" (default: "minilm-onnx" for short comments when installed, else
    "static"; "tfidf" for long ones; see ``themes.embedders.adaptive_choice`` and
    eval/results/themes.md), "minilm-onnx" (MiniLM via onnxruntime, ``themes/minilm_onnx.py``),
    "static" (distilled token vectors, no extra packages), "tfidf" (no extra packages, seconds),
    "minilm" (sentence embeddings of a sample of the comments; needs
    ``pip install 'cxchange[embeddings]'``, loaded only when used; minutes on a busy 2-core machine)
    or "auto" (minilm when installed). The result names the one used. ``progress``: told, in a line,
    what discovery reads before the work starts (a large scope takes minutes). ``notes``: what the
    proposals do not say themselves (an even sample of a larger scope, comments in other languages)."""
    ensure_schema(engine)
    filters, tree = scope_filters(engine, where, source)
    stmt = apply_filters(
        select(Feedback.id, Feedback.text).where(Feedback.text.is_not(None)),
        filters,
        period=Period(since),
        tree=tree,
    )
    with engine.connect() as conn:
        rows = conn.execute(stmt.order_by(Feedback.id)).all()
    in_scope = len(rows)
    if len(rows) > max_comments:  # an even, deterministic spread over the whole period
        step = len(rows) / max_comments
        rows = [rows[int(i * step)] for i in range(max_comments)]
    texts = [r[1] for r in rows]
    if len(texts) < MIN_COMMENTS:
        where_txt = f" in source {source!r}" if source else ""
        raise InputError(
            f"only {len(texts)} comments{where_txt}: discovery needs at least {MIN_COMMENTS}; "
            "load the built-in taxonomy instead (`cxchange themes import --builtin cx_default`)"
        )

    try:
        embedder = resolve(embedder)
    except ValueError:
        raise InputError(f"unknown --embedder {embedder!r}; choose one of {', '.join(EMBEDDERS)}") from None
    notes = []
    if in_scope > len(texts):
        notes.append(
            f"themes proposed from an even sample of {len(texts):,} of the {in_scope:,} comments in scope "
            "(more text changes little but time); `cxchange analyze` assigns them to every comment"
        )
    if progress and len(texts) >= PROGRESS_FROM:
        progress(f"discovering themes in {len(texts):,} comments" + (f" of {in_scope:,}" if notes else ""))
    notes += [note for note in (_without_words(texts), _other_languages(texts)) if note]
    try:
        found = discover_themes(texts, max_themes=max_themes, seed=seed, embedder=embedder, with_model=True)
    except ImportError as exc:  # the embeddings extra is not installed
        raise InputError(f"--embedder {embedder}: {exc}") from None
    n = len(texts)
    if not found.themes:
        raise InputError(
            f"no themes found in {n} comments: they have no words to group (only handles, links or "
            "emoji?); load the built-in taxonomy instead (`cxchange themes import --builtin cx_default`)"
        )
    broad = too_broad_keywords(texts, [t.keywords for t in found.themes])
    themes = [
        {
            "name": t.name,
            "parent": found.themes[t.parent].name if t.parent is not None else None,
            "keywords": list(t.keywords),
            "size": int(t.size),
            "share": round(t.size / n, 4) if n else 0.0,
            "examples": [texts[i] for i in t.representatives],
            "too_broad": broad[k],
        }
        for k, t in enumerate(found.themes)
    ]
    return {
        "comments": n,
        "comments_in_scope": in_scope,
        "notes": notes,
        "seed": seed,
        "embedder": found.embedder or embedder,
        "themes": themes,
        "unassigned": int(found.unassigned),
        "unassigned_share": round(found.unassigned / n, 4) if n else 0.0,
        "brands_removed": sorted(found.noise.brands) if found.noise else [],
        "scope": {"source": source},
        "model": found.model,
        # (feedback id, text key, vector) of the comments embedded: `analyze` reuses them (vectors.py)
        "vectors": [(int(rows[d][0]), key, v) for d, (key, v) in sorted(found.vectors.items())],
    }


def _without_words(texts: Sequence[str | None]) -> str | None:
    """A note when comments (told on an even sample) hold no word once @handles, links and numbers are
    out: they are about no theme (`ThemeModel.assign` gives them none), which "unassigned" alone does
    not explain."""
    step = max(1, len(texts) // LANGUAGE_SAMPLE)
    sample = texts[::step]
    bare = sum(1 for t in sample if not any(tokenise(normalise(t))[0]))
    if not bare:
        return None
    counted = f"{bare} of {len(sample)}" + (" sampled" if step > 1 else "")
    return (
        f"{counted} comments hold no word to group by (only @handles, links, numbers, emoji or stop words): "
        "they are about no theme"
    )


def _other_languages(texts: Sequence[str | None]) -> str | None:
    """A note when at least FOREIGN_NOTE of the comments (told on an even sample) are not in English:
    discovery groups words, so comments in another language make themes of their own language."""
    step = max(1, len(texts) // LANGUAGE_SAMPLE)
    told = Counter(detect_language(t or "") for t in texts[::step])
    told.pop("und", None)
    n = sum(told.values())
    other = {code: k for code, k in told.most_common() if code != "en"}
    share = sum(other.values()) / n if n else 0.0
    if share < FOREIGN_NOTE:
        return None
    languages = ", ".join(f"{code} {k}" for code, k in list(other.items())[:6])
    counted = f"{sum(other.values())} of {n}" + (" sampled" if step > 1 else "")
    return (
        f"{counted} comments are not in English ({languages}): discovery groups comments by their words, "
        "so these make themes of their own language, and their sentiment is 'unsupported'; import each "
        "language as its own --source and discover them apart (--source), or translate them first"
    )


def too_broad_keywords(texts: Sequence[str | None], keywords: Sequence[Sequence[str]]) -> list[list[str]]:
    """Per theme, its keywords that as a keyword rule would match at least TOO_BROAD of the comments."""
    flat = sorted({k for ks in keywords for k in ks})
    if not flat or not texts:
        return [[] for _ in keywords]
    step = max(1, len(texts) // BROAD_SAMPLE)
    sample = texts[::step]
    matcher = Matcher([ThemeSpec(i, k, (k,)) for i, k in enumerate(flat)])
    hits = [0] * len(flat)
    for text in sample:
        for m in matcher.mentions(text):
            hits[m.theme_id] += 1
    broad = {flat[i] for i, h in enumerate(hits) if h >= TOO_BROAD * len(sample)}
    return [[k for k in ks if k in broad] for ks in keywords]


def save_discovery(engine: Engine, result: dict[str, Any]) -> dict[str, Any]:
    """Add proposed themes to the taxonomy (origin: discovered; existing names are updated) with the
    matcher that assigns them, so that `analyze` assigns comments the way discovery grouped them; the
    themes an earlier discovery of the same source saved and this one does not propose are retired
    (`taxonomy.retire_superseded`)."""
    from sqlalchemy.orm import Session

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
    saved = import_nodes(engine, nodes, origin="discovered")
    model = result.get("model")
    if model is None:
        return {**saved, "matcher": None}
    with Session(engine) as session, session.begin():
        by_name = {t.name.lower(): t for t in session.scalars(select(Theme).where(Theme.active))}
        ids = [by_name[result["themes"][int(c)]["name"].lower()].id for c in model.classes]
        version = current_version(session)
        matcher_id = save_matcher(session, model, list(ids), version=version, scope=result.get("scope") or {})
        if result.get("vectors") and model.reuses_vectors:
            store_vectors(session.connection(), model.embedder, result["vectors"])
        proposed = {t["name"].lower() for t in result["themes"]}
        for name, t in by_name.items():  # their assignments now come from the matcher: re-match them
            if name in proposed:
                t.version = version
        retired = retire_superseded(session, matcher_id, result.get("scope") or {}, proposed)
    return {**saved, "retired": len(retired), "matcher": matcher_id, "retired_themes": retired}
