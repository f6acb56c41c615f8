"""The report's initiatives: those active in the period that concern the report's unit and the reader's
units, each with its measured outcome (`sustain.outcomes`, the windows stored on the initiative).

Who sees which initiative, and whether its comparison (pilot against control, success measures) may be
shown, is `change.service`'s rule, the same as on the initiative page, the API and the CLI.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Engine

from cxchange.auth.scope import UserScope
from cxchange.change.service import comparison_note, comparison_visible, unit_codes, visible_initiatives
from cxchange.core.errors import CxError
from cxchange.org.tree import OrgTree, Unit
from cxchange.report.period import ReportPeriod, as_date
from cxchange.sustain.outcomes import metric_or_default, outcomes

MAX_OUTCOMES = 10  # outcome analyses per report (each scans the initiative's units over its windows)


def initiatives_section(
    engine: Engine, user: UserScope, tree: OrgTree, unit: Unit | None, period: ReportPeriod
) -> list[dict[str, Any]]:
    covered = tree.subtree_ids(unit.code) if unit is not None else None
    out: list[dict[str, Any]] = []
    budget = MAX_OUTCOMES
    default = metric_or_default(engine, None)
    # newest first: when the budget runs out, the older initiatives go unmeasured (and say so)
    items = sorted(
        visible_initiatives(engine, user), key=lambda i: (str(i["start"] or ""), i["id"]), reverse=True
    )
    for ini in items:
        start, end = as_date(ini["start"]), as_date(ini["end"])
        if start is None or start >= period.end or (end is not None and end < period.start):
            continue
        if covered is not None and not any(
            tree.subtree_ids(c) & covered for c in unit_codes(ini) if _known(tree, c)
        ):
            continue
        entry = _entry(ini, start, end)
        if not comparison_visible(engine, user, ini):
            # the same rule and words as the initiative page: no comparison reaching beyond their units
            out.append({**entry, "outcomes": [], "withheld": comparison_note(ini)})
            continue
        # The store's score (NPS when it has NPS answers), then the first success metric the owner
        # declared, else the theme's share: a ratings store's report said "nps: not measurable" each time
        metrics = [default, *(m["metric"] for m in ini["metrics"])]
        if ini["theme"]:
            metrics.append(f"theme-share:{ini['theme']}")
        metrics = list(dict.fromkeys(metrics))[:2]
        results = []
        for metric in metrics:
            if budget <= 0:
                results.append(
                    {
                        "metric": metric,
                        "error": f"not measured in this report; run `cxchange outcomes {ini['id']}`",
                    }
                )
                continue
            budget -= 1
            try:
                # the windows stored on the initiative: the same verdict as the CLI, API and pages
                o = outcomes(engine, ini["id"], metric=metric)
            except CxError as exc:
                results.append({"metric": metric, "error": f"not measurable: {exc}"})
                continue
            eff = (
                {
                    "estimate": o["did"],
                    "ci_low": o["ci_low"],
                    "ci_high": o["ci_high"],
                    "p_value": o["p_value"],
                }
                if o["mode"] == "did"
                else {k: o["change"][k] for k in ("estimate", "ci_low", "ci_high", "p_value")}
            )
            groups = (
                {"pilot": o["pilot"], "control": o["control"]}
                if o["mode"] == "did"
                else {"units": o["scope"]}
            )
            results.append(
                {
                    "metric": o["metric"],
                    "mode": o["mode"],
                    "verdict": o["verdict"],
                    "verdict_reason": o["verdict_reason"],
                    "verdict_fix": o["verdict_fix"],
                    "summary": o["summary"],
                    **eff,
                    "groups": {
                        g: {k: v.get(k) for k in ("before", "after", "n_before", "n_after", "units")}
                        for g, v in groups.items()
                    },
                    "pretrend_ok": o["pretrend_ok"],
                    "caveats": list(o["caveats"]),
                    "window": o["window"],
                    "series": o["series"],
                }
            )
        out.append({**entry, "outcomes": results, "withheld": None})
    return out


def _entry(ini: dict[str, Any], start: date, end: date | None) -> dict[str, Any]:
    return {
        "id": ini["id"],
        "name": ini["name"],
        "status": ini["status"],
        "theme": ini["theme"],
        "start": start.isoformat(),
        "end": end.isoformat() if end else None,
        "units": ini["units"],
        "pilot_units": ini["pilot_units"],
        "control_units": ini["control_units"],
        "has_control": bool(ini["pilot_units"] and ini["control_units"]),
        "owner": (ini["owner"] or {}).get("name"),
    }


def _known(tree: OrgTree, code: str) -> bool:
    return any(u.code.lower() == code.lower() for u in tree.units.values())
