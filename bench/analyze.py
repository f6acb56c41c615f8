"""Analysis benchmark: `cxchange analyze` over ~100,000 demo comments, fast back-end, one process
and a Dask LocalCluster; then the best back-end's rate on a sample. Same run, same machine.

    python bench/analyze.py [--rows 125000] [--best-sample 5000] [--workers 2]

Targets: 100,000 comments with the fast back-end in under a minute on 2 cores (issue: understand);
the best back-end at >= 300 texts/s, i.e. 100,000 comments in under 6 minutes (issue 18).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=125_000)
    ap.add_argument("--best-sample", type=int, default=5_000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    from cxchange.core.db import get_engine
    from cxchange.demo.generator import generate
    from cxchange.demo.load import load_demo
    from cxchange.understand.analyze import analyze
    from cxchange.understand.cli_taxonomy import builtin_taxonomy
    from cxchange.understand.sentiment import get_backend
    from cxchange.understand.themes.taxonomy import import_yaml

    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        company = generate(rows=args.rows, seed=1)
        engines = []
        for name in ("single", "dask"):
            engine = get_engine(f"sqlite:///{Path(tmp) / name}.db")
            load_demo(engine, company, analyse=False)
            import_yaml(engine, builtin_taxonomy("cx_default"))
            engines.append(engine)
        single = analyze(engines[0], backend="fast")
        results["fast_single_process"] = single
        dask = analyze(engines[1], backend="fast", workers=args.workers)
        results["fast_dask_local_cluster"] = dask

        texts = [t for t in company.planted["text"].to_list() if t][: args.best_sample]
        for name in ("fast", "best"):
            model = get_backend(name)
            model.score(texts[:50])  # load the model outside the timing
            t0 = time.perf_counter()
            model.score(texts)
            dt = time.perf_counter() - t0
            results[f"{name}_sentiment_only_per_second"] = round(len(texts) / dt, 1)

    n = single["analysed"]
    print(f"comments analysed: {n}")
    print(
        f"fast, one process : {single['seconds']:.1f} s  ({single['per_second']:.0f}/s)"
        f"  -> {100_000 / single['per_second']:.1f} s per 100k (target < 60 s)"
    )
    print(f"fast, Dask x{args.workers}   : {dask['seconds']:.1f} s  ({dask['per_second']:.0f}/s)")
    print(f"sentiment only    : fast {results['fast_sentiment_only_per_second']}/s, "
          f"best {results['best_sentiment_only_per_second']}/s")  # fmt: skip
    best_rate = float(results["best_sentiment_only_per_second"])  # type: ignore[arg-type]
    print(f"best, one process : {100_000 / best_rate:.0f} s per 100k (target < 360 s, >= 300/s)")
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "analyze.json").write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
