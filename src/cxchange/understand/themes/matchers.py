"""Stored theme matchers: save one per `themes discover --save`, load them for `analyze`, keep them in
step with taxonomy edits, and carry them through YAML export/import (as a sidecar ``.npz`` file).

A theme is scored by the newest matcher that names it; saving a matcher takes its themes from older
ones. A merge points the merged themes' rows at the theme that remains (their probabilities add up);
a delete points them at nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from cxchange.core.errors import InputError
from cxchange.understand.models import ThemeMatcher
from cxchange.understand.themes.relevance import FORMAT, ModelFileError, ThemeModel, model_digest

SIDECAR_SUFFIX = ".matchers.npz"


@dataclass
class LoadedMatcher:
    id: int
    model: ThemeModel
    theme_ids: list[int | None]
    source: str | None  # discovery's --source: the matcher scores only that source's comments


def save_matcher(
    session: Session, model: ThemeModel, theme_ids: list[int | None], *, version: int, scope: dict[str, Any]
) -> int:
    """Store ``model`` (row i scores ``theme_ids[i]``); older matchers let go of these themes."""
    mine = {t for t in theme_ids if t is not None}
    for old in session.scalars(select(ThemeMatcher).where(ThemeMatcher.active)):
        if mine & set(old.theme_ids):
            old.theme_ids = [None if t in mine else t for t in old.theme_ids]
            old.active = any(t is not None for t in old.theme_ids)
    data = model.to_bytes()
    row = ThemeMatcher(
        taxonomy_version=version, format=FORMAT, scope=scope, theme_ids=list(theme_ids),
        digest=model_digest(data), payload=data, active=True,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row.id


def matched_theme_ids(session: Session) -> set[int]:
    """Themes an active matcher scores (their keywords are descriptions, not rules)."""
    out: set[int] = set()
    for ids in session.scalars(select(ThemeMatcher.theme_ids).where(ThemeMatcher.active)):
        out.update(t for t in ids if t is not None)
    return out


def load_matchers(session: Session) -> list[LoadedMatcher]:
    out = []
    for row in session.scalars(select(ThemeMatcher).where(ThemeMatcher.active).order_by(ThemeMatcher.id)):
        if model_digest(row.payload) != row.digest:
            raise InputError(f"theme matcher {row.id} is damaged (checksum differs): re-run discovery")
        try:
            model = ThemeModel.from_bytes(row.payload)
        except ModelFileError as exc:
            raise InputError(
                f"theme matcher {row.id}: {exc}; re-run `cxchange themes discover --save`"
            ) from None
        out.append(LoadedMatcher(row.id, model, list(row.theme_ids), (row.scope or {}).get("source")))
    return out


def repoint(session: Session, old_ids: set[int], new_id: int | None) -> bool:
    """Matcher rows of ``old_ids`` now score ``new_id`` (None: nothing). True if any row moved."""
    moved = False
    for row in session.scalars(select(ThemeMatcher).where(ThemeMatcher.active)):
        if old_ids & set(row.theme_ids):
            row.theme_ids = [new_id if t in old_ids else t for t in row.theme_ids]
            row.active = any(t is not None for t in row.theme_ids)
            moved = True
    return moved


# --- YAML sidecar ---------------------------------------------------------------------------------


def export_matchers(engine: Engine, yaml_path: Path, names: dict[int, str]) -> list[dict[str, Any]]:
    """Write each active matcher beside ``yaml_path`` and return what the YAML records about them."""
    out = []
    with Session(engine) as session:
        rows = list(
            session.scalars(select(ThemeMatcher).where(ThemeMatcher.active).order_by(ThemeMatcher.id))
        )
    for i, row in enumerate(rows):
        suffix = SIDECAR_SUFFIX if len(rows) == 1 else f".matchers-{i + 1}.npz"
        file = yaml_path.with_name(yaml_path.name.removesuffix(".yaml").removesuffix(".yml") + suffix)
        file.write_bytes(row.payload)
        out.append(
            {
                "file": file.name,
                "sha256": row.digest,
                "format": row.format,
                "source": (row.scope or {}).get("source"),
                "themes": [names.get(t) if t is not None else None for t in row.theme_ids],
            }
        )
    return out


def read_sidecars(entries: Any, yaml_file: str) -> list[tuple[ThemeModel, bytes, dict[str, Any]]]:
    """Check and read the matcher files a taxonomy YAML names: a missing, altered or other-format file
    is an error naming it (themes without their matcher would silently fall back to keywords)."""
    if not isinstance(entries, list):
        raise InputError(f"{yaml_file}: 'matchers' must be a list")
    base = Path(yaml_file).parent
    out = []
    for i, e in enumerate(entries):
        key = f"{yaml_file}: matchers[{i}]"
        if (
            not isinstance(e, dict)
            or not isinstance(e.get("file"), str)
            or not isinstance(e.get("themes"), list)
        ):
            raise InputError(f"{key} needs 'file' and 'themes'")
        path = base / e["file"]
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"{key}: matcher file {path} cannot be read ({exc.strerror})") from None
        if e.get("sha256") and model_digest(data) != e["sha256"]:
            raise InputError(
                f"{key}: {path} is not the matcher this YAML was exported with (checksum differs)"
            )
        try:
            model = ThemeModel.from_bytes(data)
        except ModelFileError as exc:
            raise InputError(f"{key}: {path}: {exc}") from None
        if len(e["themes"]) != len(model.classes):
            raise InputError(
                f"{key}: {path} scores {len(model.classes)} themes, the YAML names {len(e['themes'])}"
            )
        out.append((model, data, e))
    return out


def has_matchers(engine: Engine) -> bool:
    with Session(engine) as session:
        return session.scalar(select(ThemeMatcher.id).where(ThemeMatcher.active).limit(1)) is not None
