"""The theme taxonomy is the user's: add, rename, merge, split, delete, export and import as YAML.

Every edit writes a `taxonomy_version` row. An edit that changes what a theme matches bumps that
theme's `version`; `cxchange analyze` re-matches exactly the themes whose `matched_version` lags.
Edits that do not change matching (rename, effort) or whose result is known (merge moves the
assignments, delete drops them) apply at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session

from cxchange.core.errors import CxError, InputError, NotFoundError
from cxchange.core.names import check_name
from cxchange.understand.models import FeedbackTheme, TaxonomyVersion, Theme, ThemeMatcher
from cxchange.understand.themes.matchers import (
    export_matchers,
    has_matchers,
    read_sidecars,
    repoint,
    save_matcher,
)

MAX_NAME = 200


def current_version(session: Session) -> int:
    return int(session.scalar(select(func.max(TaxonomyVersion.id))) or 0)


def _bump(session: Session, action: str, detail: str) -> int:
    row = TaxonomyVersion(action=action, detail=detail[:2000])
    session.add(row)
    session.flush()
    return row.id


def _clean_terms(terms: Iterable[str]) -> list[str]:
    out: list[str] = []
    for t in terms:
        t = " ".join(str(t).split())
        if t and t.lower() not in {o.lower() for o in out}:
            out.append(t)
    return out


def _check_name(name: str) -> str:
    name = " ".join(check_name(name, "theme name").split())
    if not name:
        raise InputError("a theme needs a name")
    if len(name) > MAX_NAME:
        raise InputError(f"theme name longer than {MAX_NAME} characters")
    return name


def active_themes(session: Session) -> list[Theme]:
    return list(session.scalars(select(Theme).where(Theme.active).order_by(Theme.id)))


def ancestor_levels(themes: dict[int, dict[str, Any]]) -> list[dict[int, int]]:
    """For `theme_rows` keyed by id: [{}] (level 0: each theme itself), then per level L >= 1
    {theme id: its ancestor L levels up}. What a theme's counts roll up by (understand.service)."""
    levels: list[dict[int, int]] = [{}]
    for tid in themes:
        seen, at, depth = {tid}, themes[tid]["parent_id"], 1
        while at is not None and at in themes and at not in seen:  # a cycle in stored data ends the walk
            if len(levels) <= depth:
                levels.append({})
            levels[depth][tid] = at
            seen.add(at)
            at, depth = themes[at]["parent_id"], depth + 1
    return levels


def with_descendants(session: Session, theme_id: int) -> list[int]:
    """The theme and every theme below it: what a filter on the theme means (a discovered parent is
    never assigned itself; its comments are its sub-themes')."""
    children: dict[int | None, list[int]] = {}
    for t in active_themes(session):
        children.setdefault(t.parent_id, []).append(t.id)
    out, todo = [], [theme_id]
    while todo:
        tid = todo.pop()
        if tid not in out:  # a cycle in stored data ends the walk
            out.append(tid)
            todo.extend(children.get(tid, []))
    return sorted(out)


def find_theme(session: Session, ref: str | int) -> Theme:
    """A theme by id or by name (case-insensitive; "Parent > Child" paths work too)."""
    themes = active_themes(session)
    if isinstance(ref, int) or (str(ref).isascii() and str(ref).isdigit()):
        for t in themes:
            if t.id == int(ref):
                return t
        raise NotFoundError(f"no theme with id {ref}")
    key = str(ref).strip().lower()
    by_id = {t.id: t for t in themes}
    for t in themes:
        if t.name.lower() == key or _path(t, by_id).lower() == key:
            return t
    raise NotFoundError(f"no theme named {ref!r} (see `cxchange themes list`)")


def _path(theme: Theme, by_id: dict[int, Theme]) -> str:
    parts, seen, t = [theme.name], {theme.id}, theme
    while t.parent_id is not None and t.parent_id in by_id and t.parent_id not in seen:
        t = by_id[t.parent_id]
        seen.add(t.id)
        parts.append(t.name)
    return " > ".join(reversed(parts))


def _name_taken(session: Session, name: str, except_id: int | None = None) -> bool:
    return any(t.name.lower() == name.lower() and t.id != except_id for t in active_themes(session))


def theme_rows(engine: Engine) -> list[dict[str, Any]]:
    with Session(engine) as session:
        themes = active_themes(session)
        by_id = {t.id: t for t in themes}
        return [
            {
                "id": t.id,
                "name": t.name,
                "path": _path(t, by_id),
                "parent": by_id[t.parent_id].name if t.parent_id in by_id else None,
                "parent_id": t.parent_id,
                "keywords": list(t.keywords or []),
                "examples": list(t.examples or []),
                "origin": t.origin,
                "effort": t.effort,
                "version": t.version,
                "up_to_date": t.matched_version == t.version,
            }
            for t in themes
        ]


def taxonomy_version(engine: Engine) -> int:
    with Session(engine) as session:
        return current_version(session)


def add_theme(
    engine: Engine,
    name: str,
    *,
    keywords: Sequence[str] = (),
    examples: Sequence[str] = (),
    parent: str | None = None,
    origin: str = "curated",
    effort: int | None = None,
) -> dict[str, Any]:
    name = _check_name(name)
    kws, exs = _clean_terms(keywords), _clean_terms(examples)
    if not kws and not exs:
        raise InputError(f"theme {name!r} needs at least one keyword or example phrase")
    with Session(engine) as session, session.begin():
        if _name_taken(session, name):
            raise InputError(f"a theme named {name!r} already exists")
        parent_id = find_theme(session, parent).id if parent else None
        v = _bump(session, "add", name)
        theme = Theme(
            name=name, parent_id=parent_id, keywords=kws, examples=exs, origin=origin,
            effort=_check_effort(effort), version=v, matched_version=None,
        )  # fmt: skip
        session.add(theme)
        if parent_id is not None:  # a child's mentions count for its parent: the parent must re-match
            _dirty(session, parent_id, v)
        session.flush()
        return {"id": theme.id, "name": theme.name, "taxonomy_version": v}


def _dirty(session: Session, theme_id: int, version: int) -> None:
    session.execute(update(Theme).where(Theme.id == theme_id).values(version=version))
    parent = session.scalar(select(Theme.parent_id).where(Theme.id == theme_id))
    if parent is not None:
        _dirty(session, parent, version)


def _check_effort(effort: int | None) -> int | None:
    if effort is not None and not 1 <= effort <= 5:
        raise InputError(f"effort must be 1..5, got {effort}")
    return effort


def rename_theme(engine: Engine, theme: str, new_name: str) -> dict[str, Any]:
    new_name = _check_name(new_name)
    with Session(engine) as session, session.begin():
        found = find_theme(session, theme)
        if _name_taken(session, new_name, found.id):
            raise InputError(f"a theme named {new_name!r} already exists")
        v = _bump(session, "rename", f"{found.name} -> {new_name}")
        found.name = new_name
        return {"id": found.id, "name": new_name, "taxonomy_version": v}


def add_terms(
    engine: Engine, ref: str, *, keywords: Sequence[str] = (), examples: Sequence[str] = ()
) -> dict[str, Any]:
    with Session(engine) as session, session.begin():
        theme = find_theme(session, ref)
        kws = _clean_terms([*theme.keywords, *keywords])
        exs = _clean_terms([*theme.examples, *examples])
        v = _bump(session, "keywords", f"{theme.name}: +{list(keywords)} +{list(examples)}")
        theme.keywords, theme.examples = kws, exs
        _dirty(session, theme.id, v)
        return {"id": theme.id, "name": theme.name, "keywords": kws, "examples": exs, "taxonomy_version": v}


def set_effort(engine: Engine, theme: str, effort: int) -> dict[str, Any]:
    with Session(engine) as session, session.begin():
        found = find_theme(session, theme)
        found.effort = _check_effort(effort)
        v = _bump(session, "effort", f"{found.name}: {effort}")
        return {"id": found.id, "name": found.name, "effort": effort, "taxonomy_version": v}


def merge_themes(engine: Engine, themes: Sequence[str], into: str) -> dict[str, Any]:
    """Fold themes into `into`: their keywords, children and assignments move; they are retired."""
    with Session(engine) as session, session.begin():
        target = find_theme(session, into)
        sources = [find_theme(session, r) for r in themes]
        if any(s.id == target.id for s in sources):
            raise InputError("cannot merge a theme into itself")
        v = _bump(session, "merge", f"{[s.name for s in sources]} -> {target.name}")
        # Matcher rows of the merged themes now count for the target: its relevance is their sum, so
        # moving assignments is not enough; the target re-matches.
        up_to_date = target.matched_version == target.version
        up_to_date = not repoint(session, {s.id for s in sources}, target.id) and up_to_date
        for s in sources:
            target.keywords = _clean_terms([*target.keywords, *s.keywords])
            target.examples = _clean_terms([*target.examples, *s.examples])
            session.execute(update(Theme).where(Theme.parent_id == s.id).values(parent_id=target.id))
            # Move assignments the target does not already have; drop the rest.
            have = select(FeedbackTheme.feedback_id).where(FeedbackTheme.theme_id == target.id)
            session.execute(
                update(FeedbackTheme)
                .where(FeedbackTheme.theme_id == s.id, FeedbackTheme.feedback_id.not_in(have))
                .values(theme_id=target.id, taxonomy_version=v)
            )
            session.execute(delete(FeedbackTheme).where(FeedbackTheme.theme_id == s.id))
            s.active = False
            up_to_date = up_to_date and s.matched_version == s.version
        target.version = v
        # Moving the assignments is exactly what re-matching with the union of keywords would give.
        target.matched_version = v if up_to_date else target.matched_version
        return {
            "id": target.id,
            "name": target.name,
            "merged": [s.name for s in sources],
            "taxonomy_version": v,
        }


def split_theme(
    engine: Engine, ref: str, new_name: str, keywords: Sequence[str], *, as_child: bool = True
) -> dict[str, Any]:
    """Make a new theme from some of a theme's keywords (a child by default); both re-match."""
    new_name = _check_name(new_name)
    with Session(engine) as session, session.begin():
        theme = find_theme(session, ref)
        moving = {k.lower() for k in keywords}
        missing = moving - {k.lower() for k in theme.keywords}
        if missing:
            raise InputError(f"theme {theme.name!r} has no keyword(s) {sorted(missing)}")
        if _name_taken(session, new_name):
            raise InputError(f"a theme named {new_name!r} already exists")
        v = _bump(session, "split", f"{theme.name} -> {new_name}: {sorted(moving)}")
        kept = [k for k in theme.keywords if k.lower() not in moving]
        if not kept and not theme.examples and not as_child:
            raise InputError(f"splitting every keyword off {theme.name!r} leaves it empty: use rename")
        theme.keywords = kept
        new = Theme(
            name=new_name, parent_id=theme.id if as_child else theme.parent_id,
            keywords=[k for k in keywords], examples=[], origin="curated", version=v,
        )  # fmt: skip
        session.add(new)
        _dirty(session, theme.id, v)
        session.flush()
        return {"id": new.id, "name": new.name, "from": theme.name, "taxonomy_version": v}


def delete_theme(engine: Engine, theme: str) -> dict[str, Any]:
    with Session(engine) as session, session.begin():
        found = find_theme(session, theme)
        v = _bump(session, "delete", found.name)
        session.execute(update(Theme).where(Theme.parent_id == found.id).values(parent_id=found.parent_id))
        session.execute(delete(FeedbackTheme).where(FeedbackTheme.theme_id == found.id))
        found.active = False
        repoint(session, {found.id}, None)  # its matcher rows score nothing now; other themes keep theirs
        if found.parent_id is not None:
            _dirty(session, found.parent_id, v)
        return {"id": found.id, "name": found.name, "deleted": True, "taxonomy_version": v}


def retire_superseded(
    session: Session, matcher_id: int, scope: dict[str, Any], proposed: set[str]
) -> list[str]:
    """After a discovery saved matcher ``matcher_id``: the themes an earlier discovery of the same scope
    saved that this one does not propose (``proposed``: names, lower case), retired with their
    assignments, and then their discovered parents left without a theme below. Without this a second
    ``--save`` kept both discoveries, each comment getting a theme from each ("Aroma" and "Chicken
    biryani" on the same 796 reviews). Curated themes, and discoveries of other sources, are kept."""
    earlier = session.scalars(select(ThemeMatcher).where(ThemeMatcher.active, ThemeMatcher.id != matcher_id))
    scored = {t for m in earlier if (m.scope or {}) == scope for t in m.theme_ids if t is not None}
    themes = {t.id: t for t in active_themes(session)}

    def stale(t: Theme) -> bool:
        return t.origin == "discovered" and t.name.lower() not in proposed

    retire = {tid for tid in scored if tid in themes and stale(themes[tid])}
    while True:  # parents of this discovery's leaves: retired once nothing active is left below them
        live_parents = {t.parent_id for tid, t in themes.items() if tid not in retire}
        empty = {
            tid for tid, t in themes.items()
            if tid not in retire and tid not in live_parents and stale(t) and tid not in scored
            and any(c.parent_id == tid for c in themes.values())
        }  # fmt: skip
        if not empty:
            break
        retire |= empty
    if retire:
        session.execute(delete(FeedbackTheme).where(FeedbackTheme.theme_id.in_(retire)))
        for tid in retire:
            themes[tid].active = False
        repoint(session, retire, None)
    return sorted(themes[tid].name for tid in retire)


# --- YAML -----------------------------------------------------------------------------------------


def export_yaml(engine: Engine, path: Path | None = None) -> str:
    """The taxonomy as YAML. Discovered themes' matchers go to sidecar files beside ``path`` (named in
    the YAML's ``matchers`` list with their sha256), so without ``path`` a taxonomy with matchers is an
    error rather than an export that would lose them."""
    rows = theme_rows(engine)
    children: dict[int | None, list[dict[str, Any]]] = {}
    for r in rows:
        children.setdefault(r["parent_id"], []).append(r)

    def node(r: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"name": r["name"], "keywords": r["keywords"]}
        if r["examples"]:
            out["examples"] = r["examples"]
        if r["effort"] is not None:
            out["effort"] = r["effort"]
        if r["origin"] != "curated":
            out["origin"] = r["origin"]
        kids = [node(c) for c in children.get(r["id"], [])]
        if kids:
            out["children"] = kids
        return out

    doc: dict[str, Any] = {
        "taxonomy_version": taxonomy_version(engine),
        "themes": [node(r) for r in children.get(None, [])],
    }
    if has_matchers(engine):
        if path is None:
            raise InputError(
                "discovered themes carry matcher models that YAML on stdout cannot hold: "
                "use `cxchange themes export --out FILE.yaml` (writes FILE.matchers.npz beside it)"
            )
        doc["matchers"] = export_matchers(engine, Path(path), {r["id"]: r["name"] for r in rows})
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


def _parse_nodes(nodes: Any, where: str, file: str) -> list[dict[str, Any]]:
    if not isinstance(nodes, list):
        raise InputError(f"{file}: {where} must be a list of themes")
    out = []
    for i, n in enumerate(nodes):
        key = f"{where}[{i}]"
        if not isinstance(n, dict) or not isinstance(n.get("name"), str) or not n["name"].strip():
            raise InputError(f"{file}: {key}.name is missing or not text")
        for list_key in ("keywords", "examples"):
            val = n.get(list_key, [])
            if not isinstance(val, list) or not all(isinstance(x, str | int | float) for x in val):
                raise InputError(f"{file}: {key}.{list_key} must be a list of words or phrases")
        if "effort" in n and not (isinstance(n["effort"], int) and 1 <= n["effort"] <= 5):
            raise InputError(f"{file}: {key}.effort must be 1..5")
        kids = _parse_nodes(n.get("children", []), f"{key}.children", file)
        if not n.get("keywords") and not n.get("examples") and not kids:
            raise InputError(f"{file}: {key} ({n['name']}) has no keywords, examples or children")
        out.append({**n, "children": kids})
    return out


def load_yaml_doc(text: str, file: str = "<taxonomy>") -> dict[str, Any]:
    """The parsed document: ``themes`` (checked nodes) and ``matchers`` (as written, or [])."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" line {mark.line + 1}" if mark is not None else ""
        raise InputError(f"{file}:{at} not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(doc, dict) or "themes" not in doc:
        raise InputError(f"{file}: expected a mapping with a 'themes' list")
    return {"themes": _parse_nodes(doc["themes"], "themes", file), "matchers": doc.get("matchers") or []}


def load_yaml(text: str, file: str = "<taxonomy>") -> list[dict[str, Any]]:
    return load_yaml_doc(text, file)["themes"]


def import_yaml(
    engine: Engine, path: Path | str, *, replace: bool = False, origin: str = "curated"
) -> dict[str, Any]:
    """Create or update themes by name; with `replace`, themes not in the file are deleted."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    doc = load_yaml_doc(text, str(path))
    if not doc["matchers"]:
        return import_nodes(engine, doc["themes"], replace=replace, origin=origin)

    sidecars = read_sidecars(doc["matchers"], str(path))  # every file checked before anything changes
    names = set()

    def walk(items: list[dict[str, Any]]) -> None:
        for n in items:
            names.add(" ".join(n["name"].split()).lower())
            walk(n["children"])

    walk(doc["themes"])
    for _, _, entry in sidecars:
        unknown = [t for t in entry["themes"] if t is not None and str(t).lower() not in names]
        if unknown:
            raise InputError(f"{path}: matcher {entry['file']} scores themes not in the file: {unknown[:3]}")
    result = import_nodes(engine, doc["themes"], replace=replace, origin=origin)
    with Session(engine) as session, session.begin():
        by_name = {t.name.lower(): t for t in active_themes(session)}
        v = current_version(session)
        for model, _, entry in sidecars:
            ids = [None if t is None else by_name[str(t).lower()].id for t in entry["themes"]]
            save_matcher(session, model, ids, version=v, scope={"source": entry.get("source")})
            for tid in ids:
                if tid is not None:
                    _dirty(session, tid, v)
    return {**result, "matchers": len(sidecars)}


def import_nodes(
    engine: Engine, nodes: list[dict[str, Any]], *, replace: bool = False, origin: str = "curated"
) -> dict[str, Any]:
    counts = {"added": 0, "updated": 0, "unchanged": 0, "deleted": 0}
    with Session(engine) as session, session.begin():
        v = _bump(session, "import", f"{len(nodes)} top-level themes")
        existing = {t.name.lower(): t for t in active_themes(session)}
        seen: set[int] = set()

        def walk(items: list[dict[str, Any]], parent_id: int | None) -> None:
            for n in items:
                name = _check_name(n["name"])
                kws = _clean_terms(str(k) for k in n.get("keywords", []))
                exs = _clean_terms(str(e) for e in n.get("examples", []))
                t = existing.get(name.lower())
                if t is None:
                    t = Theme(
                        name=name, parent_id=parent_id, keywords=kws, examples=exs,
                        origin=n.get("origin", origin), effort=n.get("effort"), version=v,
                    )  # fmt: skip
                    session.add(t)
                    session.flush()
                    existing[name.lower()] = t
                    counts["added"] += 1
                elif (t.keywords, t.examples, t.parent_id) != (kws, exs, parent_id):
                    t.keywords, t.examples, t.parent_id, t.version = kws, exs, parent_id, v
                    counts["updated"] += 1
                else:
                    counts["unchanged"] += 1
                if "effort" in n:
                    t.effort = n["effort"]
                if t.id in seen:
                    raise InputError(f"theme {name!r} appears twice in the taxonomy")
                seen.add(t.id)
                walk(n["children"], t.id)

        walk(nodes, None)
        if replace:
            for t in existing.values():
                if t.id not in seen and t.active:
                    session.execute(delete(FeedbackTheme).where(FeedbackTheme.theme_id == t.id))
                    t.active = False
                    counts["deleted"] += 1
                    repoint(session, {t.id}, None)
        _check_acyclic(session)
    return {**counts, "taxonomy_version": v}


def _check_acyclic(session: Session) -> None:
    parent = {t.id: t.parent_id for t in active_themes(session)}
    for start in parent:
        seen, p = {start}, parent[start]
        while p is not None:
            if p in seen:
                raise CxError("the taxonomy would contain a cycle of parents")
            seen.add(p)
            p = parent.get(p)


def mark_matched(engine: Engine, theme_versions: dict[int, int]) -> None:
    with Session(engine) as session, session.begin():
        for tid, v in theme_versions.items():
            session.execute(update(Theme).where(Theme.id == tid).values(matched_version=v))
