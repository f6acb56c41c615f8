"""The executive report as a standalone HTML page or a PDF (WeasyPrint), from `build_report`'s dict.

Offline by construction: inline CSS, system fonts, charts as inline SVG (`cxchange.decide.charts`,
which escapes every label). Jinja2 autoescapes everything else; only the chart SVG is marked safe.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from markupsafe import Markup
from sqlalchemy import Engine

from cxchange.auth.scope import UserScope
from cxchange.core.errors import CxError, InputError
from cxchange.decide.charts import band_chart, diverging_bar_chart, multi_line_chart
from cxchange.report.build import build_report

FORMATS = {".html": "text/html; charset=utf-8", ".pdf": "application/pdf"}


def _num(x: Any, digits: int = 1) -> str:
    if x is None:
        return "–"
    try:
        return f"{float(x):,.{digits}f}"
    except (TypeError, ValueError):
        return str(x)


def _signed(x: Any, digits: int = 1) -> str:
    if x is None:
        return "–"
    return f"{float(x):+,.{digits}f}".replace("-", "−")


def _int(x: Any) -> str:
    return "–" if x is None else f"{int(x):,}"


def _charts(data: dict[str, Any]) -> dict[str, Any]:
    charts: dict[str, Any] = {"scores": {}, "initiatives": {}}
    for sc in data["scores"]:
        t = sc["trend"]
        charts["scores"][sc.get("key", sc["metric"])] = Markup(
            band_chart(
                [r["month"] for r in t],
                [r["score"] for r in t],
                [r["ci_low"] for r in t],
                [r["ci_high"] for r in t],
                highlight=[r["in_period"] for r in t],
                title=f"{sc['label']} by month, with 95 % interval (shaded: {data['period']['label']})",
                unit=sc["unit"].strip(),
            )
        )
    bu = data.get("by_unit")
    rows = [r for r in (bu or {}).get("rows", []) if r["change"] is not None]
    if bu and rows:
        charts["by_unit"] = Markup(
            diverging_bar_chart(
                [r["name"] for r in rows],
                [r["change"]["diff"] for r in rows],
                lows=[r["change"]["ci_low"] for r in rows],
                highs=[r["change"]["ci_high"] for r in rows],
                title=f"Change in {bu['label']} vs {data['period']['previous']}, by {bu['level']}",
            )
        )
    th = data["themes"]
    if th["changes"]:
        charts["theme_changes"] = Markup(
            diverging_bar_chart(
                [t["name"] for t in th["changes"]],
                [t["share_change"] for t in th["changes"]],
                lows=[t["share_change_ci_low"] for t in th["changes"]],
                highs=[t["share_change_ci_high"] for t in th["changes"]],
                title=f"Change in share of comments vs {data['period']['previous']} (points)",
            )
        )
    impact = th["drags"] + th["lifts"]
    if impact:
        charts["impact"] = Markup(
            diverging_bar_chart(
                [t["name"] for t in impact],
                [t["impact"] for t in impact],
                lows=[t["impact_ci_low"] for t in impact],
                highs=[t["impact_ci_high"] for t in impact],
                title=f"Impact on {data['metric_label']}, with 95 % interval",
            )
        )
    for ini in data["initiatives"]:
        for o in ini["outcomes"]:
            if not o.get("series"):
                continue
            months = sorted({r["month"] for r in o["series"]})
            groups: dict[str, dict[str, float | None]] = {}
            for r in o["series"]:
                groups.setdefault(r["group"], {})[r["month"]] = r["value"]
            charts["initiatives"][(ini["id"], o["metric"])] = Markup(
                multi_line_chart(
                    months,
                    {g: [vals.get(m) for m in months] for g, vals in groups.items()},
                    title=f"{o['metric']} by month",
                    marker=ini["start"][:7],
                    height=180,
                )
            )
    return charts


def _env() -> Any:
    from jinja2 import Environment, PackageLoader

    env = Environment(
        loader=PackageLoader("cxchange.report", "templates"),
        autoescape=True,  # every template, whatever its name
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(num=_num, signed=_signed, int=_int)
    return env


def render_html(data: dict[str, Any]) -> str:
    """A standalone HTML document: no scripts, no external resources."""
    return _env().get_template("report.html").render(r=data, charts=_charts(data))


def render_pdf(data: dict[str, Any], path: str | Path | None = None) -> bytes:
    """The PDF as bytes; also written to `path` when given."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:
        raise CxError(f"PDF needs WeasyPrint (pip install 'cxchange[reports]'): {exc}") from None
    # No base_url and a fetcher that refuses everything: the document must not reach the network.
    pdf = HTML(string=render_html(data), url_fetcher=_no_fetch).write_pdf()
    assert pdf is not None
    if path is not None:
        Path(path).write_bytes(pdf)
    return pdf


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"the report fetches nothing: {url!r}")


def check_output(path: str | Path) -> str:
    """The output format from the file's suffix: .html or .pdf."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"--output must end in .html or .pdf, got {Path(path).name!r}")
    return suffix


def write_report(data: dict[str, Any], path: str | Path) -> Path:
    out = Path(path)
    if check_output(out) == ".pdf":
        render_pdf(data, out)
    else:
        out.write_text(render_html(data), encoding="utf-8")
    return out


def report_response(
    engine: Engine,
    period: str | None = None,
    unit: str | None = None,
    fmt: str = "html",
    scope: UserScope | None = None,
) -> tuple[bytes, str, str]:
    """For a web route: (content, media type, suggested file name) as `scope`'s user may see it.
    `fmt`: html or pdf."""
    suffix = "." + (fmt or "").lower().lstrip(".")
    if suffix not in FORMATS:
        raise InputError(f"format must be html or pdf, got {fmt!r}")
    data = build_report(engine, period=period, unit=unit, scope=scope)
    name = f"cx-report-{data['period']['label']}" + (f"-{data['unit']['code']}" if data["unit"] else "")
    name = "".join(c if c.isalnum() or c in "-_" else "_" for c in name) + suffix
    if suffix == ".pdf":
        return render_pdf(data), FORMATS[suffix], name
    return render_html(data).encode("utf-8"), FORMATS[suffix], name
