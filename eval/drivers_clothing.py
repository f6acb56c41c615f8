"""What drives recommendation in the clothing reviews: themes found by cxchange, then key drivers.

    python eval/drivers_clothing.py

The full product path on real data, in a throw-away SQLite file: import the CSV (the first
unnamed column as external id, "Recommended IND" kept as an attribute), `themes discover --save`,
`analyze` (fast back-end), then `drivers --target attr:Recommended IND --from themes` and
`--from theme-sentiment`, with bootstrap intervals. Prints both tables and writes
eval/results/drivers_clothing.json. Nothing here is tuned: discovery runs with its defaults.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

DATA = (
    Path(__file__).resolve().parents[1].parent / "shared" / "eval" / "womens_clothing_ecommerce_reviews.csv"
)
OUT = Path(__file__).resolve().parent / "results" / "drivers_clothing.json"


def main() -> None:
    if not DATA.exists():
        sys.exit(f"{DATA} not found (the evaluation data lives beside the project)")
    from cxchange.core.db import get_engine
    from cxchange.decide.data import theme_driver_frame
    from cxchange.decide.drivers import driver_table
    from cxchange.listen.service import ImportOptions, import_file
    from cxchange.understand.analyze import analyze
    from cxchange.understand.discovery import discover, save_discovery

    target = "attr:Recommended IND"
    results: dict[str, object] = {"data": DATA.name, "target": target}
    with tempfile.TemporaryDirectory() as tmp:
        engine = get_engine(f"sqlite:///{Path(tmp) / 'clothing.db'}")
        t0 = time.perf_counter()
        batch = import_file(
            engine, DATA,
            ImportOptions(source="clothing", kind="review", map_options=("text=Review Text", "rating=Rating"),
                          close_loop=False),
        )  # fmt: skip
        found = discover(engine, max_themes=12, seed=0)
        save_discovery(engine, found)
        run = analyze(engine, backend="fast")
        results["pipeline"] = {
            "imported": batch.imported,
            "rejected": batch.rejected,
            "themes": len(found["themes"]),
            "unassigned_share": found["unassigned_share"],
            "analysed": run["analysed"],
            "seconds": round(time.perf_counter() - t0, 1),
        }
        for kind in ("themes", "theme-sentiment"):
            frame, predictors, performance, _notes = theme_driver_frame(engine, target=target, kind=kind)
            if len(predictors) > 15:  # keep the exact method: the 15 most mentioned themes
                counts = {p: float((frame[p] != 0).sum()) for p in predictors}
                predictors = sorted(predictors, key=lambda p: -counts[p])[:15]
            table = driver_table(
                frame, target, predictors, method="shapley", n_boot=200, seed=0, performance=performance
            )
            results[kind] = table
            print(f"\n{target} ~ {kind}: n = {table['n']}, R² = {table['r2']:.4f}")
            for d in table["drivers"]:
                print(f"  {d['driver'][:40]:40s} {d['importance']:.4f} ({d['ci_low']:.4f}–{d['ci_high']:.4f})"
                      f" {d['direction']} share {d['share_pct']:.1f} % perf {d['performance']}")  # fmt: skip
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2, default=str))
    print(f"\npipeline: {results['pipeline']}")


if __name__ == "__main__":
    main()
