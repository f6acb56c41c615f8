"""Streaming ingest: JSON items posted by another system become feedback through the file import's own
pipeline (a polars frame into `import_frame`: the same validation, redaction, de-duplication on
(source, external_id) and post-commit work), and a stored per-source mapping turns a webhook payload
into those items.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import Engine, delete, insert, select

from cxchange.core.bulk import inserted_id
from cxchange.core.errors import InputError, NotFoundError
from cxchange.core.names import check_name
from cxchange.listen.models import RejectedRow, Source

MAX_ITEMS = 5_000
# The item keys of the contract (issue 21), each a feedback field of the same name but "unit".
ITEM_FIELDS = (
    "external_id",
    "received_at",
    "nps",
    "csat",
    "ces",
    "rating",
    "text",
    "unit",
    "customer_id",
)
ITEM_KEYS = frozenset((*ITEM_FIELDS, "attributes"))
_MAP = tuple(f"{'org_unit' if f == 'unit' else f}={f}" for f in ITEM_FIELDS)


class TooManyItems(InputError):
    """More than MAX_ITEMS in one request (the API answers 413)."""


_NESTED = (dict, list)
ID_MAX = 200
_RESERVED = ITEM_KEYS | {"org_unit"}


def _cell(value: Any) -> str | None:
    """An attribute value as the text a file would hold; nested values as JSON."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, _NESTED):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


_SCALARS = (int, float, bool, type(None))
_IDS = ("external_id", "customer_id")


def _plainly_fine(item: Any) -> bool:
    """True only for an item `_refusal` would accept, in one pass over it (the usual item: known keys,
    scalar values, flat attributes): 5,000 items a request made the full check a quarter of its CPU."""
    if type(item) is not dict or not item.keys() <= ITEM_KEYS:
        return False
    for key, value in item.items():
        if key == "attributes":
            if value is not None and type(value) is not dict:
                return False
            for name, cell in (value or {}).items():
                if type(name) is not str or name in _RESERVED or name.startswith("__"):
                    return False
                if type(cell) is str:
                    if "\x00" in cell or "\\u0000" in cell:
                        return False
                elif type(cell) not in _SCALARS:
                    return False
        elif type(value) is str:
            if "\x00" in value or (key in _IDS and len(value) > ID_MAX):
                return False
        elif type(value) not in _SCALARS or (key in _IDS and value is not None and len(str(value)) > ID_MAX):
            return False
    return True


def _refusal(item: Any) -> str | None:
    """Why an item cannot become a row at all (its values are the validator's business), or None."""
    return None if _plainly_fine(item) else _full_refusal(item)


def _full_refusal(item: Any) -> str | None:
    if not isinstance(item, dict):
        return "an item must be a JSON object"
    unknown = item.keys() - ITEM_KEYS
    if unknown:
        return f"unknown key(s): {', '.join(sorted(map(str, unknown)))}"
    nested = [k for k, v in item.items() if k != "attributes" and isinstance(v, _NESTED)]
    if nested:
        return f"{', '.join(sorted(nested))}: a single value is expected, not a list or object"
    attrs = item.get("attributes")
    if attrs is not None and not isinstance(attrs, dict):
        return "attributes must be a JSON object"
    clash = [k for k in attrs or () if k in _RESERVED or k.startswith("__")]
    if clash:
        return f"attribute name(s) reserved for fields: {', '.join(sorted(clash))}"
    # What the database cannot hold: a NUL (PostgreSQL refuses it in text and JSON), over-long ids.
    for key, value in item.items():
        if isinstance(value, str) and "\x00" in value:
            return f"{key}: a NUL character cannot be stored"
    for key, value in (attrs or {}).items():
        if "\x00" in (_cell(value) or "").replace("\\u0000", "\x00"):
            return f"attributes.{key}: a NUL character cannot be stored"
    for key in ("external_id", "customer_id"):
        value = item.get(key)
        if value is not None and len(str(value)) > ID_MAX:
            return f"{key}: longer than {ID_MAX} characters"
    return None


def items_frame(items: Sequence[Any]) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """(a string frame of the acceptable items with their position in `__index`, the items refused for
    their shape: not an object, an unknown key, a nested value, attributes that reuse a field's name).
    Column by column: polars turns each field's values into text, as they would be read from a file."""
    good: list[dict[str, Any]] = []
    index: list[int] = []
    refused: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        why = _refusal(item)
        if why:
            refused.append({"index": i, "reason": why})
        else:
            good.append(item)
            index.append(i)
    columns = {
        f: pl.Series(f, [it.get(f) for it in good], dtype=pl.String, strict=False) for f in ITEM_FIELDS
    }
    # RFC 3339's UTC "Z", which the date formats of files spell +00:00.
    columns["received_at"] = columns["received_at"].str.replace(r"[Zz]$", "+00:00")
    attribute_keys = dict.fromkeys(k for it in good for k in it.get("attributes") or ())
    for k in attribute_keys:
        values = [_cell((it.get("attributes") or {}).get(k)) for it in good]
        columns[k] = pl.Series(k, values, dtype=pl.String)
    columns["__index"] = pl.Series("__index", index, dtype=pl.Int64)
    return pl.DataFrame(list(columns.values())), refused


def ingest_items(engine: Engine, source: object, items: Any, *, kind: str | None = None) -> dict[str, Any]:
    """Import posted items as one batch of `source`: {"imported", "duplicates", "rejected", "batch_id"}.
    A rejected item names its position in `items` and the reason, as `cxchange rejects` would."""
    from cxchange.listen.service import ImportOptions, import_frame

    if not isinstance(source, str) or not source.strip():
        raise InputError("source: a non-empty source name is required")
    check_name(source, "source name")
    if not isinstance(items, list):
        raise InputError("items: a JSON array of feedback items is required")
    if len(items) > MAX_ITEMS:
        raise TooManyItems(f"items: {len(items)} items; at most {MAX_ITEMS} a request")
    frame, refused = items_frame(items)
    out: dict[str, Any] = {"imported": 0, "duplicates": 0, "rejected": refused, "batch_id": None}
    if frame.height == 0:
        return out
    index = frame["__index"].to_list()  # the frame's row n is file row n + 2
    attributes = [c for c in frame.columns if c not in ITEM_FIELDS and c != "__index"]
    # Empty columns are left out, as a file without them: a mapped, all-empty date column would not parse.
    keep = [c for c in (*ITEM_FIELDS, *attributes) if frame[c].null_count() < frame.height]
    options = ImportOptions(
        source=source,
        kind=kind,
        map_options=tuple(m for m in _MAP if m.split("=")[1] in keep),
        close_loop=True,
        # The caller waits for the commit only: columnar copy, search index, cases and alerts follow in
        # the server's background worker, merged when a stream posts faster than they run.
        after_commit="background",
    )
    result = import_frame(engine, frame.select(keep), options, name=f"api:{source}")
    rows: Sequence[Any] = ()
    if result.rejected:  # the reasons, row by row, as `cxchange rejects` shows them
        with engine.connect() as conn:
            rows = conn.execute(
                select(RejectedRow.row_number, RejectedRow.reason)
                .where(RejectedRow.batch_id == result.batch_id, RejectedRow.kind == "reject")
                .order_by(RejectedRow.row_number)
            ).all()
    rejected = refused + [{"index": index[r.row_number - 2], "reason": r.reason} for r in rows]
    out.update(
        imported=result.imported,
        duplicates=result.duplicates,
        rejected=sorted(rejected, key=lambda r: r["index"]),
        batch_id=result.batch_id,
    )
    return out


# --- webhook payloads ----------------------------------------------------------------------------


def pointer(doc: Any, path: str) -> Any:
    """The value at a JSON-pointer-like `path` ("/ticket/comments/0/body"; "" or "/" is the document);
    None where the path leads nowhere."""
    if path in ("", "/"):
        return doc
    cur = doc
    for raw in path.lstrip("/").split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(cur, dict):
            cur = cur.get(part)
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return None
    return cur


def check_mapping(mapping: Any) -> dict[str, Any]:
    """A stored mapping: {"items": optional pointer to a list, "fields": {item key: pointer}}."""
    if not isinstance(mapping, dict) or not isinstance(mapping.get("fields"), dict) or not mapping["fields"]:
        raise InputError('mapping: want {"fields": {"text": "/path", ...}} (and optionally "items": "/list")')
    extra = set(mapping) - {"items", "fields"}
    if extra:
        raise InputError(f"mapping: unknown key(s) {', '.join(sorted(extra))}; use items and fields")
    items = mapping.get("items")
    if items is not None and (not isinstance(items, str) or not items.startswith("/")):
        raise InputError('mapping: "items" must be a path starting with "/"')
    if items is not None:
        check_name(items, "mapping items path")
    for key, path in mapping["fields"].items():
        if key not in ITEM_KEYS and not key.startswith("attributes."):
            raise InputError(
                f"mapping: unknown field {key!r}; use {', '.join(sorted(ITEM_KEYS))} or attributes.NAME"
            )
        if not isinstance(path, str) or not (path == "" or path.startswith("/")):
            raise InputError(f"mapping: the path of {key!r} must start with '/'")
        check_name(key, "mapping field")
        check_name(path, f"mapping path of {key!r}")
    return {"items": items, "fields": dict(mapping["fields"])}


def apply_mapping(payload: Any, mapping: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Feedback items from a webhook payload: one per element of the `items` list (or the payload)."""
    listed = pointer(payload, mapping["items"]) if mapping.get("items") else [payload]
    if not isinstance(listed, list):
        raise InputError(f"the payload has no list at {mapping['items']!r}")
    items = []
    for element in listed:
        item: dict[str, Any] = {}
        for key, path in mapping["fields"].items():
            value = pointer(element, path)
            if key.startswith("attributes."):
                if value is not None:
                    item.setdefault("attributes", {})[key.split(".", 1)[1]] = value
            elif value is not None:
                item[key] = value
        items.append(item)
    return items


def _source_id(conn: Any, name: str) -> int:
    sid = conn.execute(select(Source.id).where(Source.name == name)).scalar()
    if sid is None:
        raise NotFoundError(f"no source {name!r}: import into it once, or set its mapping with --create")
    return int(sid)


def set_mapping(engine: Engine, source: str, mapping: Any, *, kind: str = "ticket") -> dict[str, Any]:
    """Store the webhook mapping of `source` (created, of `kind`, if it does not exist yet)."""
    from cxchange.listen.surveys.models import IngestMapping

    check_name(source, "source name")
    clean = check_mapping(mapping)
    with engine.begin() as conn:
        sid = conn.execute(select(Source.id).where(Source.name == source)).scalar()
        if sid is None:
            sid = inserted_id(
                conn,
                insert(Source).values(
                    name=source, kind=kind, mapping={}, rating_scale=5, created_at=datetime.utcnow()
                ),
            )
        conn.execute(delete(IngestMapping).where(IngestMapping.source_id == sid))
        conn.execute(insert(IngestMapping).values(source_id=sid, mapping=clean, updated_at=datetime.utcnow()))
    return {"source": source, "mapping": clean}


def get_mapping(engine: Engine, source: str) -> dict[str, Any]:
    from cxchange.listen.surveys.models import IngestMapping

    with engine.connect() as conn:
        sid = _source_id(conn, source)
        stored = conn.execute(select(IngestMapping.mapping).where(IngestMapping.source_id == sid)).scalar()
    if stored is None:
        raise NotFoundError(
            f"source {source!r} has no ingest mapping: `cxchange ingest map {source} FILE.json`"
        )
    return dict(stored)


def ingest_payload(engine: Engine, source: str, payload: Any) -> dict[str, Any]:
    """A webhook payload through the source's stored mapping, then as posted items."""
    return ingest_items(engine, source, apply_mapping(payload, get_mapping(engine, source)))
