"""Change frameworks are data: YAML files shipped in `cxchange/change/frameworks/` and, optionally,
the company's own in the directory named by the environment variable `CXCHANGE_FRAMEWORKS_DIR`.

A framework file:

    key: kotter                 # optional; the file name (without .yaml) otherwise
    name: Kotter's 8 steps      # required
    description: ...            # optional
    steps:                      # required, at least one
      - key: urgency            # required, unique within the file (letters, digits, _ and -)
        title: ...              # required
        purpose: ...            # required
        checklist: [...]        # optional list of text
        artefacts: [...]        # optional list of text
        guidance: ...           # optional text
        actions: [...]          # optional list of text: suggested actions when this step (an ADKAR
                                #   element) is a team's barrier point

A file in the user directory with the key of a shipped framework replaces it.
"""

from __future__ import annotations

import copy
import os
import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from cxchange.core.errors import InputError, NotFoundError

ENV_DIR = "CXCHANGE_FRAMEWORKS_DIR"
_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_LISTS = ("checklist", "artefacts", "actions")


def _fail(file: str, key: str, message: str) -> InputError:
    return InputError(f"framework key {key!r}: {message}", file=file)


def validate(doc: Any, file: str, default_key: str) -> dict[str, Any]:
    """Check a parsed framework document; return it normalised. Errors name the file and the key."""
    if not isinstance(doc, dict):
        raise InputError("a framework file must be a mapping with 'name' and 'steps'", file=file)
    key = doc.get("key", default_key)
    if not isinstance(key, str) or not _KEY.match(key):
        raise _fail(file, "key", "must be a word of letters, digits, _ or -")
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _fail(file, "name", "is missing or empty")
    description = doc.get("description") or ""
    if not isinstance(description, str):
        raise _fail(file, "description", "must be text")
    steps = doc.get("steps")
    if not isinstance(steps, list) or not steps:
        raise _fail(file, "steps", "must be a non-empty list of steps")
    out_steps: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, step in enumerate(steps):
        where = f"steps[{i}]"
        if not isinstance(step, dict):
            raise _fail(file, where, "must be a mapping with key, title and purpose")
        skey = step.get("key")
        if not isinstance(skey, str) or not _KEY.match(skey):
            raise _fail(file, f"{where}.key", "is missing or not a word of letters, digits, _ or -")
        if skey in seen:
            raise _fail(file, f"{where}.key", f"step key {skey!r} appears twice")
        seen.add(skey)
        clean: dict[str, Any] = {"key": skey}
        for field in ("title", "purpose"):
            value = step.get(field)
            if not isinstance(value, str) or not value.strip():
                raise _fail(file, f"{where}.{field}", "is missing or empty")
            clean[field] = value.strip()
        for field in _LISTS:
            value = step.get(field, [])
            if value is None:
                value = []
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise _fail(file, f"{where}.{field}", "must be a list of text")
            clean[field] = [v.strip() for v in value]
        guidance = step.get("guidance") or ""
        if not isinstance(guidance, str):
            raise _fail(file, f"{where}.guidance", "must be text")
        clean["guidance"] = guidance.strip()
        unknown = set(step) - {"key", "title", "purpose", "guidance", *_LISTS}
        if unknown:
            raise _fail(file, f"{where}.{sorted(unknown)[0]}", "is not a known step field")
        out_steps.append(clean)
    return {"key": key, "name": name.strip(), "description": description.strip(), "steps": out_steps}


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_cache: dict[tuple[str, int, int], dict[str, Any]] = {}


def load_file(path: str | Path) -> dict[str, Any]:
    """A validated framework file (parsed once per file version: key is path, mtime and size)."""
    path = Path(path)
    try:
        st = path.stat()
        key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
        if key in _cache:
            return copy.deepcopy(_cache[key])
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read framework file: {exc.strerror}", file=str(path)) from None
    fw = _parse(text, path)
    if len(_cache) > 256:
        _cache.clear()
    _cache[key] = fw
    return copy.deepcopy(fw)


def _parse(text: str, path: Path) -> dict[str, Any]:
    try:
        doc = yaml.load(text, Loader=_Loader)  # a safe loader (the C one when available)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = mark.line + 1 if mark is not None else None
        raise InputError(f"not valid YAML: {getattr(exc, 'problem', exc)}", file=str(path), row=row) from None
    fw = validate(doc, str(path), path.stem)
    fw["file"] = str(path)
    return fw


def _shipped() -> list[Path]:
    root = resources.files("cxchange.change") / "frameworks"
    return sorted(Path(str(p)) for p in root.iterdir() if p.name.endswith((".yaml", ".yml")))


def user_dir() -> Path | None:
    value = os.environ.get(ENV_DIR, "").strip()
    return Path(value) if value else None


def _user_files() -> list[Path]:
    d = user_dir()
    if d is None:
        return []
    if not d.is_dir():
        raise InputError(f"{ENV_DIR} is {str(d)!r}, which is not a directory")
    return sorted(p for p in d.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def all_frameworks() -> dict[str, dict[str, Any]]:
    """key -> framework; shipped ones first, then the user directory (which may replace them)."""
    out: dict[str, dict[str, Any]] = {}
    for path in _shipped():
        fw = load_file(path)
        fw["origin"] = "shipped"
        out[fw["key"]] = fw
    for path in _user_files():
        fw = load_file(path)
        fw["origin"] = "user"
        out[fw["key"]] = fw
    return out


def get_framework(ref: str, *, allow_file: bool = True) -> dict[str, Any]:
    """A framework by key (kotter, adkar, cx10, or one from the user directory) or by file path."""
    p = Path(ref)
    if allow_file and (ref.endswith((".yaml", ".yml")) or p.is_file()):
        if not p.is_file():
            raise NotFoundError(f"no framework file {ref!r}")
        fw = load_file(p)
        fw["origin"] = "file"
        return fw
    frameworks = all_frameworks()
    found = frameworks.get(ref.lower()) or frameworks.get(ref)
    if found is None:
        raise NotFoundError(f"no framework {ref!r}; known: {', '.join(sorted(frameworks))} (or a YAML file)")
    return found


def list_rows() -> list[dict[str, Any]]:
    return [
        {
            "key": fw["key"],
            "name": fw["name"],
            "steps": len(fw["steps"]),
            "origin": fw["origin"],
            "description": fw["description"],
        }
        for fw in all_frameworks().values()
    ]


def adkar_actions(framework_doc: dict[str, Any] | None, element: str | None) -> list[str]:
    """Suggested actions for a barrier at `element`: from the initiative's framework when it has that
    step with actions, else from the shipped ADKAR framework."""
    if element is None or element == "none":
        return []
    for doc in (framework_doc or {}, None):
        if doc is None:
            doc = get_framework("adkar")
        for step in doc.get("steps", []):
            if step.get("key") == element and step.get("actions"):
                return list(step["actions"])
    return []
