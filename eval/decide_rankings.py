"""Decide's two rankings side by side, per sentiment back-end (issue 18): themes by impact on NPS and
Opportunities by priority.

    python eval/decide_rankings.py [--data DIR] [--rows 20000] [--backends fast,best]

Sets: the demo company (`cxchange demo`: --rows rows, seed 42) and one real set, the Skytrax airline
seat reviews of ../shared/eval (``content`` as the text, ``overall_rating`` 1-10 as the 0-10 score,
``date`` as received_at). Each is put in a fresh SQLite database through the import pipeline, the
shipped CX taxonomy loaded, and analysed once with each back-end; then the themes report's impact
(NPS of all minus NPS without the theme's comments: most negative first, `understand.service.
theme_stats`) and Opportunities (`decide.service.opportunities`, default weights) are ranked.

The issue's check: the theme with the most negative impact is also high in Opportunities, taken as
"in its top 3" (fixed before the run). Before, complaints scored neutral, so a theme could drive NPS
down while Opportunities valued fixing its (negative-sentiment) mentions at +0.0.

Writes eval/results/decide_rankings.json and .md (numbers only from this run; load average kept).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))  # this checkout's cxchange, whichever venv runs the script
DEFAULT_DATA = Path(os.environ.get("CXCHANGE_EVAL_DATA", ROOT.parent / "shared" / "eval"))
TOP = 3  # "high in Opportunities": the most negative impact theme is among its first TOP


def load_demo_set(engine: Any, rows: int) -> None:
    from cxchange.demo.load import create_demo

    create_demo(engine, rows=rows, seed=42, analyse=False)


def load_skytrax(engine: Any, data: Path) -> None:
    import polars as pl

    from cxchange.listen.service import ImportOptions, import_frame

    frame = pl.read_csv(data / "skytrax_seat_reviews.csv", infer_schema_length=0).select(
        pl.col("link").alias("airline"),
        pl.col("content").alias("text"),
        pl.col("overall_rating").alias("nps"),
        pl.col("date").alias("received_at"),
    )
    frame = frame.filter(pl.col("text").is_not_null() & pl.col("nps").is_not_null()).drop("airline")
    options = ImportOptions(
        source="skytrax", kind="review", map_options=("text=text", "nps=nps", "received_at=received_at"),
        close_loop=False,
    )  # fmt: skip
    import_frame(engine, frame, options, name="skytrax_seat_reviews.csv")


def rankings(engine: Any, backend: str) -> dict[str, Any]:
    from cxchange.decide.service import opportunities
    from cxchange.understand.analyze import analyze
    from cxchange.understand.service import theme_stats

    started = time.perf_counter()
    run = analyze(engine, backend=backend)
    if run.get("backend") != backend:
        raise SystemExit(f"analysis ran with {run.get('backend')!r}, not {backend!r}")
    themes = [t for t in theme_stats(engine, n_boot=200) if t.get("impact") is not None]
    themes.sort(key=lambda t: (t["impact"], t["name"]))
    opp = opportunities(engine, draws=200)["opportunities"]
    opp_rank = {r["theme"]: i + 1 for i, r in enumerate(opp)}
    worst = themes[0]["name"] if themes else None
    rank = opp_rank.get(worst) if worst else None
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "analysis": {k: v for k, v in run.items() if isinstance(v, int | float | str)},
        "impact_ranking": [
            {
                "theme": t["name"],
                "impact": round(t["impact"], 2),
                "ci": [t["ci_low"], t["ci_high"]],
                "count": t["count"],
                "mean_sentiment": t["sentiment"],
            }
            for t in themes
        ],
        "opportunities_ranking": [
            {"theme": r["theme"], "priority": r["priority"], "nps_gain": round(r["nps_gain"], 2)} for r in opp
        ],
        "most_negative_impact_theme": worst,
        "its_opportunities_rank": rank,
        "met": rank is not None and rank <= TOP,
    }


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "# Decide: themes by impact vs Opportunities, per sentiment back-end",
        "",
        f"Written by `eval/decide_rankings.py` (do not edit by hand); load average "
        f"{results['load_average_1min']} before the run. Check: the theme with the most negative impact "
        f"is in Opportunities' top {TOP}.",
    ]
    for name, per_backend in results["sets"].items():
        for backend, r in per_backend.items():
            mark = "x" if r["met"] else " "
            lines += [
                "",
                f"## {name}, back-end `{backend}`",
                "",
                f"- [{mark}] most negative impact: {r['most_negative_impact_theme']}; "
                f"its Opportunities rank: {r['its_opportunities_rank']}",
                "",
                "| # | theme by impact (most negative first) | impact | mean sentiment | Opportunities "
                "| priority | NPS gain |",
                "|---|---|---|---|---|---|---|",
            ]
            imp, opp = r["impact_ranking"], r["opportunities_ranking"]
            for i in range(min(10, max(len(imp), len(opp)))):
                a = imp[i] if i < len(imp) else {"theme": "", "impact": "", "mean_sentiment": ""}
                b = opp[i] if i < len(opp) else {"theme": "", "priority": "", "nps_gain": ""}
                lines.append(
                    f"| {i + 1} | {a['theme']} | {a['impact']} | {a['mean_sentiment']} | {b['theme']} | "
                    f"{b['priority']} | {b['nps_gain']} |"
                )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--backends", default="fast,best")
    args = ap.parse_args(argv)
    from cxchange.core.db import get_engine
    from cxchange.understand.cli_taxonomy import builtin_taxonomy
    from cxchange.understand.themes.taxonomy import import_yaml

    results: dict[str, Any] = {"load_average_1min": round(os.getloadavg()[0], 1), "sets": {}}
    loaders = {
        "demo": lambda e: load_demo_set(e, args.rows),
        "skytrax": lambda e: load_skytrax(e, args.data),
    }
    with tempfile.TemporaryDirectory(prefix="cx-decide-rankings-") as tmp:
        for name, load in loaders.items():
            results["sets"][name] = {}
            for backend in args.backends.split(","):
                # A database per back-end: analysis is incremental, a second run would score nothing.
                engine = get_engine(f"sqlite:///{tmp}/{name}-{backend}.db")
                load(engine)
                import_yaml(engine, builtin_taxonomy("cx_default"))
                r = rankings(engine, backend)
                results["sets"][name][backend] = r
                print(
                    f"{name} / {backend}: most negative impact {r['most_negative_impact_theme']!r}, "
                    f"Opportunities rank {r['its_opportunities_rank']} ({r['seconds']} s)",
                    flush=True,
                )
                engine.dispose()
    out = HERE / "results" / "decide_rankings.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (HERE / "results" / "decide_rankings.md").write_text(markdown(results), encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)} and decide_rankings.md")
    return results


if __name__ == "__main__":
    main()
