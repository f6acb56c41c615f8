"""Import pages: upload a file, check the suggested mapping on a dry run, import, see what was rejected.

Step 1 (POST /import/upload) keeps the upload in a private server-side directory named by a random
token and bound to the user who uploaded it; GET /import/uploads/{token} shows the dry run (mapping,
preview, problems). Step 2 (POST .../import) imports it with the chosen mapping as one atomic batch,
deletes the upload and shows the batch. Uploads left behind are removed after UPLOAD_TTL seconds.
The browser never names a path: only the token, checked against a strict pattern.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from cxchange.auth.scope import UserScope
from cxchange.auth.web import CallerScope, verify_csrf
from cxchange.core.config import get_settings
from cxchange.core.deps import engine
from cxchange.core.errors import CxError, ForbiddenError, InputError, NotFoundError
from cxchange.core.output import write_csv
from cxchange.listen.browse import batch_detail, list_batches, list_rejects, rejects_for_reimport
from cxchange.listen.mapping import FIELDS, suggest_mapping
from cxchange.listen.models import SOURCE_KINDS
from cxchange.listen.readers import open_table
from cxchange.listen.service import ImportOptions, dry_run, import_file, importable_columns
from cxchange.understand.explore import source_names
from cxchange.understand.proposals import backlog
from cxchange.web.common import render

router = APIRouter(include_in_schema=False)

UPLOAD_TTL = 2 * 3600  # seconds an upload waits for step 2
ACCEPT = ".csv,.tsv,.txt,.xlsx,.jsonl,.ndjson,.json,.parquet,.gz"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{22,64}$")
_SUFFIX = re.compile(r"(\.[A-Za-z0-9]{1,8}){1,2}$")
_MAP_PREFIX = "map_"
MAX_REJECTS_SHOWN = 500
FIELD_HELP = {
    "external_id": "the response's own id (repeats are skipped as duplicates)",
    "received_at": "when it was given (date or date and time)",
    "text": "the comment",
    "nps": "likelihood to recommend, 0–10",
    "csat": "satisfaction, 1–5",
    "ces": "customer effort, 1–7",
    "rating": "stars, 1–5 (or 1–10)",
    "customer_id": "who answered (kept for follow-up)",
    "org_unit": "unit code, path or name",
    "channel": "store, phone, web …",
    "customer_value": "what the customer is worth",
}


def _require(scope: UserScope) -> None:
    """Importing needs the import permission; batches are not per unit, so a scoped user cannot see them."""
    scope.require("import")
    if scope.scoped:
        raise ForbiddenError("imports are for users who see every unit")


def _root() -> Path:
    root = Path(tempfile.gettempdir()) / "cxchange-web-imports"
    root.mkdir(mode=0o700, exist_ok=True)
    return root


def _purge_old(root: Path) -> None:
    cutoff = time.time() - UPLOAD_TTL
    for d in root.iterdir():
        try:
            if d.is_dir() and d.stat().st_mtime < cutoff:
                shutil.rmtree(d, ignore_errors=True)
        except OSError:
            continue


def _safe_name(filename: str | None) -> str:
    """A local file name from the client's: only its extension(s) and plain characters of its stem."""
    base = Path((filename or "").replace("\\", "/")).name
    match = _SUFFIX.search(base)
    suffix = match.group(0).lower() if match else ".csv"
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", base[: len(base) - len(match.group(0))] if match else base)
    return (stem.strip("_")[:60] or "upload") + suffix


def _upload_dir(token: str, scope: UserScope) -> tuple[Path, dict[str, Any]]:
    """The upload's directory and settings, only for the user who uploaded it."""
    if not _TOKEN.match(token):
        raise NotFoundError("no such upload")
    d = _root() / token
    try:
        meta = json.loads((d / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise NotFoundError(
            "this upload is gone (imported already, or expired): upload the file again"
        ) from None
    if meta.get("user") != scope.email:
        raise NotFoundError("no such upload")
    return d, meta


def _options(meta: dict[str, Any]) -> Any:
    return ImportOptions(
        source=meta["source"],
        kind=meta.get("kind") or None,
        map_options=tuple(f"{f}={c}" for f, c in (meta.get("mapping") or {}).items() if c),
        rating_scale=meta.get("rating_scale"),
        date_format=meta.get("date_format") or None,
        allow_mixed_scales=bool(meta.get("allow_mixed_scales")),
    )


def _clean_message(message: str, d: Path, name: str) -> str:
    """Errors name the file: show the user's name for it, not the server's path."""
    return message.replace(str(d / name), name).replace(str(d), "upload")


@router.get("/import")
def import_home(request: Request, scope: CallerScope) -> Any:
    _require(scope)
    eng = engine()
    context = {
        "batches": list_batches(eng, limit=20),
        "kinds": SOURCE_KINDS,
        "sources": _source_names(eng),
        "accept": ACCEPT,
    }
    return render(request, "import.html", context)


def _source_names(eng: Any) -> list[str]:
    return source_names(eng)


@router.post("/import/upload", dependencies=[Depends(verify_csrf)])
async def upload(
    scope: CallerScope,
    file: Annotated[UploadFile, File()],
    source: Annotated[str, Form()],
    kind: Annotated[str, Form()] = "survey",
    rating_scale: Annotated[str, Form()] = "",
    date_format: Annotated[str, Form()] = "",
) -> Any:
    _require(scope)
    source = " ".join(source.split())
    if not source or len(source) > 100:
        raise InputError("give the source a name (up to 100 characters), e.g. nps_survey")
    if kind not in SOURCE_KINDS:
        raise InputError(f"unknown source kind {kind!r}; use one of {', '.join(SOURCE_KINDS)}")
    scale = int(rating_scale) if rating_scale in ("5", "10") else None
    root = _root()
    _purge_old(root)
    token = secrets.token_urlsafe(24)
    d = root / token
    d.mkdir(mode=0o700)
    name = _safe_name(file.filename)
    size, max_mb = 0, get_settings().max_upload_mb
    try:
        with (d / name).open("wb") as out:
            while block := await file.read(1 << 20):
                size += len(block)
                if size > max_mb * (1 << 20):  # also refused by web.guards while it arrives
                    raise InputError(f"the file is larger than {max_mb} MB: use the CLI")
                out.write(block)
        if size == 0:
            raise InputError("the file is empty")
    except CxError:
        shutil.rmtree(d, ignore_errors=True)
        raise
    meta: dict[str, Any] = {
        "user": scope.email,
        "file": name,
        "original": (file.filename or name)[-200:],
        "source": source,
        "kind": kind,
        "rating_scale": scale,
        "date_format": date_format.strip()[:40] or None,
        "mapping": {},
        "created": time.time(),
    }
    (d / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return RedirectResponse(f"/import/uploads/{token}", status_code=303)


def _check(d: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """The dry run; when it cannot run (no usable mapping…), the header and the reason instead."""
    path = d / meta["file"]
    try:
        return {"report": dry_run(engine(), path, _options(meta)).as_dict(), "error": None}
    except CxError as exc:
        error = _clean_message(str(exc), d, meta["file"])
    try:
        reader = open_table(path)
        columns = importable_columns(reader.info)
        preview = reader.preview(5).to_dicts()
    except CxError as exc:
        return {"report": None, "error": _clean_message(str(exc), d, meta["file"]), "unreadable": True}
    mapping = suggest_mapping(columns)
    for fld, col in (meta.get("mapping") or {}).items():
        if col:
            mapping = {f: c for f, c in mapping.items() if c != col}
            mapping[fld] = col
    report = {"columns": columns, "mapping": mapping, "preview": preview, "problems": [], "format": None}
    return {"report": report, "error": error}


@router.get("/import/uploads/{token}")
def preview(request: Request, token: str, scope: CallerScope) -> Any:
    _require(scope)
    d, meta = _upload_dir(token, scope)
    checked = _check(d, meta)
    report = checked["report"]
    notices = []
    if report:
        for fld, col in (meta.get("mapping") or {}).items():
            if col == "" and fld in report["mapping"]:
                notices.append(
                    f"{fld} stays mapped to “{report['mapping'][fld]}”: a suggested column cannot be "
                    "left out here; map that column to another field, or use `cxchange import --map`."
                )
    context = {
        "help": FIELD_HELP,
        "token": token,
        "meta": meta,
        "fields": FIELDS,
        "report": report,
        "error": checked["error"],
        "unreadable": checked.get("unreadable", False),
        "notices": notices,
    }
    return render(request, "import_preview.html", context, status_code=200)


@router.post("/import/uploads/{token}", dependencies=[Depends(verify_csrf)])
async def choose(request: Request, token: str, scope: CallerScope) -> Any:
    """Step 2: the chosen mapping; `action=check` runs the dry run again, `action=import` imports."""
    _require(scope)
    d, meta = _upload_dir(token, scope)
    form = await request.form()
    chosen: dict[str, str] = {}
    for fld in FIELDS:
        value = form.get(_MAP_PREFIX + fld)
        if isinstance(value, str):
            chosen[fld] = value
    taken: dict[str, str] = {}
    for fld, col in chosen.items():
        if col and col in taken:
            raise InputError(f"column “{col}” is chosen for both {taken[col]} and {fld}: pick one")
        if col:
            taken[col] = fld
    meta["mapping"] = chosen
    meta["allow_mixed_scales"] = form.get("allow_mixed_scales") == "on"
    (d / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    if form.get("action") != "import":
        return RedirectResponse(f"/import/uploads/{token}", status_code=303)
    options = _options({**meta, "mapping": {f: c for f, c in chosen.items() if c}})
    try:
        result = await run_in_threadpool(import_file, engine(), d / meta["file"], options)
    except CxError:
        # The preview runs the same checks and says what is wrong, with the mapping to fix.
        return RedirectResponse(f"/import/uploads/{token}", status_code=303)
    shutil.rmtree(d, ignore_errors=True)
    return RedirectResponse(f"/import/batches/{result.batch_id}", status_code=303)


@router.post("/import/uploads/{token}/discard", dependencies=[Depends(verify_csrf)])
def discard(token: str, scope: CallerScope) -> Any:
    _require(scope)
    d, _ = _upload_dir(token, scope)
    shutil.rmtree(d, ignore_errors=True)
    return RedirectResponse("/import", status_code=303)


def _batch(eng: Any, batch_id: int) -> dict[str, Any]:
    detail = batch_detail(eng, batch_id)
    return {**detail, "file": Path(detail["file"] or "").name}  # the server's temp path is nobody's business


@router.get("/import/batches/{batch_id}")
def batch_page(request: Request, batch_id: int, scope: CallerScope) -> Any:
    _require(scope)
    eng = engine()
    batch = _batch(eng, batch_id)
    rejects = list_rejects(eng, batch_id)
    context = {
        "batch": batch,
        "rejects": rejects[:MAX_REJECTS_SHOWN],
        "total_rejects": len(rejects),
        "shown": MAX_REJECTS_SHOWN,
        "backlog": _backlog(eng),
    }
    return render(request, "import_batch.html", context)


def _backlog(eng: Any) -> dict[str, Any]:
    return backlog(eng)


@router.get("/import/batches/{batch_id}/rejects.csv")
def rejects_csv(batch_id: int, scope: CallerScope) -> Response:
    """The rejected rows in the file's columns plus why, ready to fix and import again (formula-safe)."""
    _require(scope)
    header, rows = rejects_for_reimport(engine(), batch_id)
    buf = io.StringIO()
    write_csv([dict(zip(header, r, strict=True)) for r in rows], buf, header)
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="batch-{batch_id}-rejects.csv"',
            "X-Content-Type-Options": "nosniff",
        },
    )
