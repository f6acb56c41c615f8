"""`cxchange business-case THEME`: a document a sponsor reads in five minutes.

The problem in customers' own words, where it hits, the projected effect with its interval, the
money, assumptions and risks, and a proposed initiative — as Markdown, HTML or PDF (WeasyPrint).
Everything is computed from the store by the same services the CLI and API use.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine

from cxchange.core.errors import CxError, InputError
from cxchange.decide.charts import bar_chart, line_chart
from cxchange.decide.data import detractor
from cxchange.decide.service import DEFAULT_CHURN, Scope, respondents_in, simulate
from cxchange.measure.scale import LABELS

FORMATS = (".md", ".html", ".pdf")
QUOTES = 5


def build_case(
    engine: Engine,
    theme: str,
    *,
    share: float = 0.5,
    cost: float | None = None,
    value_per_point: float | None = None,
    churn_rate: float = DEFAULT_CHURN,
    scope: Scope = Scope(),
    draws: int = 1000,
    metric: str | None = None,
) -> dict[str, Any]:
    """The case for fixing `theme`, on `metric` (None: the scope's default, NPS when it has NPS answers,
    else its most-answered score; see `measure.scale.default_metric`)."""
    r = respondents_in(engine, scope, attrs=["region"], text=True)  # text: the complaints quoted
    tid = r.theme_id(theme)
    name = r.name(tid)
    f = r.frame.filter(pl.col("analysed"))
    neg, men, sent = f"negative:{tid}", f"mention:{tid}", f"sentiment:{tid}"
    complaints = f.filter(pl.col(neg) == 1)
    if complaints.height == 0:
        raise CxError(f"nobody complains about {name!r} in scope: there is no case to make")
    sim = simulate(engine, [f"{name}={share}"], scope=scope, draws=draws, metric=metric)
    label = LABELS[sim["metric"]]
    detractors = complaints.filter(detractor())
    values = detractors.unique("customer_id", keep="first")["customer_value"]
    # No customer_value on any complaining detractor: the money is unknown, never 0. On Skytrax reviews
    # (no customer values) the case told a sponsor "Revenue at risk 0, Annual benefit 0".
    revenue_at_risk = (
        float(values.fill_null(0).sum() or 0.0) * churn_rate if values.drop_nulls().len() else None
    )
    if value_per_point is not None:
        benefit = {
            "basis": f"{value_per_point:,.0f} per {label} point × projected change",
            "annual": sim["delta"] * value_per_point,
            "low": sim["delta_ci_low"] * value_per_point,
            "high": sim["delta_ci_high"] * value_per_point,
        }
    elif revenue_at_risk is None:
        benefit = {
            "basis": f"the feedback holds no customer value: give the value of one {label} point a year "
            "(--value-per-point) for a benefit from the projected change",
            "annual": None,
            "low": None,
            "high": None,
        }
    else:
        benefit = {
            "basis": f"revenue at risk ({revenue_at_risk:,.0f}) × share fixed ({share:.0%})",
            "annual": revenue_at_risk * share,
            "low": None,
            "high": None,
        }
    payback = None
    if cost is not None and benefit["annual"] is not None and benefit["annual"] > 0:
        payback = round(12.0 * cost / benefit["annual"], 1)
    # The payback over the benefit's interval: "Payback: 10.5 months" alone, from a change of +2.9
    # (+1.4 to +4.4) Skytrax NPS points, hid that it may take twice as long; a low end at or below 0
    # means the interval does not promise a payback at all (None).
    payback_range = None
    if payback is not None and benefit["low"] is not None and benefit["high"] is not None:
        payback_range = [
            round(12.0 * cost / benefit["high"], 1) if cost is not None and benefit["high"] > 0 else None,
            round(12.0 * cost / benefit["low"], 1) if cost is not None and benefit["low"] > 0 else None,
        ]

    month = pl.col("received_at").dt.strftime("%Y-%m")
    trend = (
        f.filter(pl.col("received_at").is_not_null())
        .group_by(month.alias("month"))
        .agg(pl.len().alias("n"), pl.col(neg).sum().alias("k"))
        .sort("month")
        .tail(12)
    )
    where_hits: list[dict[str, Any]] = []
    for key in ("attr:region", "unit"):
        if key in f.columns and f[key].drop_nulls().len():
            g = (
                f.filter(pl.col(key).is_not_null())
                .group_by(pl.col(key).alias("group"))
                .agg(pl.len().alias("n"), pl.col(neg).sum().alias("k"))
                .filter(pl.col("n") >= 30)
                .with_columns(share=100.0 * pl.col("k") / pl.col("n"))
                .sort(["share", "group"], descending=[True, False])
                .head(8)
            )
            where_hits.append({"by": key.removeprefix("attr:"), "rows": g.to_dicts()})
    quotes = (
        complaints.filter(pl.col("text").str.len_chars() < 400)
        .sort([sent, "id"], nulls_last=True)
        .unique("text", keep="first", maintain_order=True)
        .head(QUOTES)["text"]
        .to_list()
    )
    # One line each, as the report quotes: a review's own paragraphs ended the Markdown block quote,
    # so its second paragraph read as the case's own words between two quotes (Amazon book reviews).
    quotes = [" ".join(q.split()) for q in quotes]
    # Said, not left as an empty table and an empty heading (Amazon book reviews: no date, no unit).
    notes = {
        "trend": None
        if trend.height
        else "No dated comments: the monthly trend needs a date (`cxchange redate COLUMN` dates them from "
        "a column kept at import).",
        "where": None
        if any(w["rows"] for w in where_hits)
        else "No unit or region with 30 or more analysed comments to compare"
        + ("." if where_hits else ": link the feedback to units with `cxchange org link COLUMN`."),
    }
    where_hits = [w for w in where_hits if w["rows"]]
    units: list[dict[str, Any]] = next((w["rows"] for w in where_hits if w["by"] == "unit"), [])
    pilot = [u["group"] for u in units[:2]]
    analysed = f.height
    return {
        "theme": name,
        "generated": date.today().isoformat(),
        "analysed_comments": analysed,
        "mentions": int(f[men].sum()),
        "complaints": complaints.height,
        "complaint_share": round(100.0 * complaints.height / analysed, 1) if analysed else None,
        "quotes": quotes,
        "trend": [
            {"month": m, "share": round(100.0 * k / n, 2) if n else None, "n": n}
            for m, n, k in trend.select("month", "n", "k").iter_rows()
        ],
        "where": where_hits,
        "notes": notes,
        "simulation": sim,
        "metric": sim["metric"],
        "metric_label": label,
        # NPS and CSAT (% satisfied) read in whole points, means of CES and ratings in hundredths
        "decimals": 1 if sim["metric"] in ("nps", "csat") else 2,
        # the change the money is priced on, as precisely as it is used: "+0.02 points × 20,000" beside
        # an annual benefit of 310 (a change of 0.0155) did not add up (Alexa reviews)
        "change_decimals": 1 if sim["metric"] in ("nps", "csat") else 3,
        "money": {
            "value_per_point": value_per_point,
            "revenue_at_risk": None if revenue_at_risk is None else round(revenue_at_risk, 2),
            "churn_rate": churn_rate,
            "benefit": {k: (round(v, 2) if isinstance(v, float) else v) for k, v in benefit.items()},
            "cost": cost,
            "payback_months": payback,
            "payback_range": payback_range,
        },
        "risks": [
            "The projection assumes fixed customers come to resemble comparable customers who do not "
            "complain; if complaints are a symptom of something else, the gain will be smaller.",
            "Theme assignment and clause sentiment are automatic; spot-check the quotes above.",
            f"Revenue at risk uses a churn rate of {churn_rate:.0%} for detractors who complain; "
            "replace it with your own retention data.",
            "Other initiatives in the same units at the same time make the effect harder to attribute: "
            "run a pilot with a control group (cxchange outcomes).",
        ],
        "initiative": {
            "name": f"Fix {name.lower()}",
            "framework": "cx10",
            "theme": name,
            "pilot_units": pilot,
            "success_measures": [
                f"theme-share:{name} down from {100.0 * complaints.height / analysed:.1f} % of comments",
                f"{sim['metric']}: +{max(sim['delta'], 0):.{1 if sim['metric'] in ('nps', 'csat') else 2}f} "
                "points in pilot units vs control",
            ],
            "command": (
                # Sponsor, owner, units and start are the sponsor's decisions: placeholders to fill in.
                f'cxchange initiative create --name "Fix {name.lower()}" --framework cx10 --theme "{name}" '
                f"--sponsor SPONSOR_EMAIL --owner OWNER_EMAIL --units {','.join(pilot) or 'UNIT_CODES'} "
                f"--start YYYY-MM-DD" + (f" --pilot-units {','.join(pilot)}" if pilot else "")
            ),
        },
    }


def render(case: dict[str, Any], fmt: str) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("cxchange.decide", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    charts = {
        "trend": line_chart(
            [t["month"] for t in case["trend"]],
            [t["share"] for t in case["trend"]],
            title=f"Comments complaining about {case['theme']} (% per month)",
        ),
        "where": [
            bar_chart(
                [str(r["group"]) for r in w["rows"]],
                [r["share"] for r in w["rows"]],
                title=f"Share of comments complaining, by {w['by']}",
            )
            for w in case["where"]
        ],
    }
    template = env.get_template("business_case.md" if fmt == ".md" else "business_case.html")
    return template.render(case=case, charts=charts)


def write_case(case: dict[str, Any], output: Path) -> Path:
    suffix = output.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"--output must end in {', '.join(FORMATS)}, got {output.name!r}")
    if suffix == ".pdf":
        try:
            from weasyprint import HTML
        except (ImportError, OSError) as exc:
            raise CxError(f"PDF needs WeasyPrint (pip install 'cxchange[reports]'): {exc}") from None
        HTML(string=render(case, ".html")).write_pdf(output)
    else:
        output.write_text(render(case, suffix), encoding="utf-8")
    return output
