"""Feedback explorer: filter, read and export stored feedback (GET filters: a view is a shareable link).

Pages are cut on (received_at, id) — "older"/"newer" links carry the position — so paging stays
fast at a million rows; the count is exact when few rows match and "more than 10,000" otherwise.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import Engine

from cxchange.auth.scope import UserScope
from cxchange.auth.web import CallerScope
from cxchange.core.deps import engine
from cxchange.core.errors import InputError
from cxchange.core.output import neutralise_cell
from cxchange.core.period import Period
from cxchange.org.tree import load_org_tree
from cxchange.understand import explore
from cxchange.understand.themes.taxonomy import theme_rows
from cxchange.web.cache import cached
from cxchange.web.common import render

router = APIRouter(include_in_schema=False)

FILTER_KEYS = ("q", "since", "until", "source", "unit", "attr", "theme", "sentiment", "nps_min", "nps_max")
SENTIMENTS = ("positive", "neutral", "negative", "unsupported", "empty")


def _text(request: Request, key: str, max_len: int = 200) -> str | None:
    value = (request.query_params.get(key) or "").strip()
    if len(value) > max_len:
        raise InputError(f"{key} is too long (at most {max_len} characters)")
    return value or None


def _date(request: Request, key: str) -> date | None:
    value = _text(request, key, 10)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InputError(f"{key} wants a date like 2026-01-31, got {value!r}") from exc


def _int(request: Request, key: str) -> int | None:
    value = _text(request, key, 3)
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()):
        raise InputError(f"{key} wants a whole number from 0 to 10, got {value!r}")
    return int(value)


def _attrs(request: Request) -> list[str]:
    out = []
    for raw in request.query_params.getlist("attr"):
        raw = raw.strip()
        if not raw:
            continue
        name, sep, value = raw.partition("=")
        if not sep or not name.strip():
            raise InputError(f"attribute filter wants NAME=VALUE, got {raw!r}")
        out.append(f"{name.strip()}={value.strip()}")
    return out


def parse_filters(
    request: Request, eng: Engine, scope: UserScope
) -> tuple[explore.FeedbackFilter, dict[str, Any]]:
    """(the filter, limited to the user's units; the raw values to refill the form and build links)."""
    until = _date(request, "until")
    form: dict[str, Any] = {
        "q": _text(request, "q"),
        "since": _date(request, "since"),
        "until": until,
        "source": _text(request, "source"),
        "unit": _text(request, "unit", 64),
        "attr": _attrs(request),
        "theme": _text(request, "theme"),
        "sentiment": _text(request, "sentiment", 16),
        "nps_min": _int(request, "nps_min"),
        "nps_max": _int(request, "nps_max"),
    }
    where = [f"unit={form['unit']}"] if form["unit"] else []
    where += [f"attr:{a}" for a in form["attr"]]  # attr: so a NAME can never act as a unit filter
    f = explore.FeedbackFilter(
        where=scope.where(eng, where),  # a unit outside the user's answers 403
        source=form["source"],
        # The form's "to" date is inclusive; a period's `until` is exclusive.
        period=Period(form["since"], date.fromordinal(until.toordinal() + 1) if until else None),
        theme=form["theme"],
        sentiment=form["sentiment"],
        nps_min=form["nps_min"],
        nps_max=form["nps_max"],
        q=form["q"],
    )
    return f, form


def _query(form: dict[str, Any], **extra: str) -> str:
    pairs: list[tuple[str, str]] = []
    for key in FILTER_KEYS:
        value = form.get(key)
        if value is None or value == [] or value == "":
            continue
        for v in value if isinstance(value, list) else [value]:
            pairs.append((key, v.isoformat() if isinstance(v, date) else str(v)))
    pairs += list(extra.items())
    return urlencode(pairs)


def _units_for(eng: Engine, scope: UserScope) -> list[dict[str, Any]]:
    tree = load_org_tree(eng)
    units = sorted(tree.units.values(), key=lambda u: u.path)
    return [{"code": u.code, "name": u.name, "depth": u.depth} for u in units if scope.contains_path(u.path)]


def _theme_names(eng: Engine) -> list[str]:
    return sorted(t["name"] for t in theme_rows(eng))


@router.get("/feedback")
def feedback_page(request: Request, scope: CallerScope) -> Any:
    eng = engine()
    f, form = parse_filters(request, eng, scope)
    older = _text(request, "older", 80)
    newer = _text(request, "newer", 80)
    # Paging through one filter re-shows its count: count once per filter and data version.
    n, exact = cached("explore-count", eng, f, lambda: explore.count(eng, f))
    many = explore.is_many(n, exact)
    if n == 0:
        result = explore.Page()
    else:
        result = explore.page(
            eng,
            f,
            older_than=explore.Cursor.decode(older) if older else None,
            newer_than=explore.Cursor.decode(newer) if newer and not older else None,
            limit=explore.PAGE_SIZE,
            many=many,
        )
    context = {
        "form": form,
        "count": n,
        "exact": exact,
        "rows": result.rows,
        "older_link": f"/feedback?{_query(form, older=result.older.encode())}" if result.older else None,
        "newer_link": f"/feedback?{_query(form, newer=result.newer.encode())}" if result.newer else None,
        "first_link": f"/feedback?{_query(form)}" if (older or newer) else None,
        "csv_link": f"/feedback.csv?{_query(form)}",
        "filtered": any(form[k] for k in FILTER_KEYS),
        "sources": explore.source_names(eng),
        "themes": _theme_names(eng),
        "sentiments": SENTIMENTS,
        "units": _units_for(eng, scope),
        "page_size": explore.PAGE_SIZE,
        "theme_link": lambda name: f"/feedback?{_query({**form, 'theme': name})}",
        "sentiment_link": lambda label: f"/feedback?{_query({**form, 'sentiment': label})}",
    }
    return render(request, "explorer.html", context)


CSV_COLUMNS = explore.EXPORT_COLUMNS


def _csv_cell(value: Any) -> Any:
    if isinstance(value, datetime | date):
        value = value.isoformat()
    elif isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    elif isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False, default=str) if value else ""
    return neutralise_cell(value)


def _csv_stream(eng: Engine, f: explore.FeedbackFilter, many: bool) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for i, row in enumerate(explore.iter_rows(eng, f, many=many), start=1):
        writer.writerow([_csv_cell(row.get(c)) for c in CSV_COLUMNS])
        if i % 1000 == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


@router.get("/feedback.csv")
def feedback_csv(request: Request, scope: CallerScope) -> Any:
    eng = engine()
    f, _ = parse_filters(request, eng, scope)  # filters (and the 403) checked before streaming starts
    many = explore.is_many(*explore.count(eng, f))  # also resolves the theme: errors before the stream
    stamp = datetime.utcnow().strftime("%Y%m%d-%H%M")
    return StreamingResponse(
        _csv_stream(eng, f, many),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="feedback-{stamp}.csv"'},
    )
