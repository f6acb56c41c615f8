"""onnxruntime session options and batch size for the float32 MiniLM, A/B in alternating rounds.

    python bench/minilm_ort_options.py [--rounds 5] [--texts 1000] [--sweep options|batch] [--out FILE]

Question (issue 15's speed target): the one MiniLM pass is most of a theme session; do onnxruntime's
settings (threads, spinning, graph optimisation level) or the padded word pieces per batch
(minilm_onnx.BATCH_TOKENS) make it cheaper on this machine, without changing any vector?

Texts: banking77's train split, the fixed 3,080-request sample eval/_themes_data.py uses as a tuning
set (short customer requests), its first --texts. Speed only. Each variant has its own
session, loaded before the clock; every round times each variant once, in rotating order, so that
all meet similar load from other jobs; os.getloadavg() before and after each pass. Reported: seconds
per pass (median, min, max over rounds), this process's CPU seconds per pass (median: what the pass
costs the machine, less bound to other jobs' load than the wall clock) and, per variant, the largest
|difference| of any vector from the default's (the default = OnnxMiniLMEmbedder() as `adaptive` builds it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "eval"))
import _themes_data as data  # noqa: E402

from cxchange.understand.themes.minilm_onnx import OnnxMiniLMEmbedder  # noqa: E402


def variant(name: str, batch_tokens: int = 4096, **config: Any) -> tuple[str, OnnxMiniLMEmbedder]:
    """An embedder whose session is made with extra options (``config``: ``threads``, ``spin``,
    ``level``) applied to onnxruntime's SessionOptions before the session is created."""
    emb = OnnxMiniLMEmbedder(batch_tokens=batch_tokens, threads=int(config.get("threads", 0)))
    if {"spin", "level"} & set(config):
        import onnxruntime as ort

        real = ort.InferenceSession

        def session(path: str, options: Any, **kw: Any) -> Any:
            if "spin" in config:
                options.add_session_config_entry("session.intra_op.allow_spinning", str(config["spin"]))
            if "level" in config:
                options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, config["level"])
            return real(path, options, **kw)

        ort.InferenceSession = session  # type: ignore[misc]
        try:
            emb.load()
        finally:
            ort.InferenceSession = real  # type: ignore[misc]
    emb.load()
    return name, emb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--texts", type=int, default=1000, help="the first N of the sample")
    parser.add_argument("--sweep", choices=("options", "batch", "batch-small"), default="options")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "minilm_ort_options.json")
    args = parser.parse_args()
    texts = data.banking77_train().texts[: args.texts]
    if args.sweep == "batch":  # padded word pieces per run (minilm_onnx.BATCH_TOKENS), default first
        variants = [variant("batch 4096 (default)")]
        variants += [variant(f"batch {b}", batch_tokens=b) for b in (256, 512, 1024, 2048)]
    elif args.sweep == "batch-small":  # the two smallest that looked faster, again, with CPU time
        variants = [variant("batch 4096 (default)")]
        variants += [variant(f"batch {b}", batch_tokens=b) for b in (512, 1024)]
    else:
        variants = [
            variant("default"),
            variant("threads=1", threads=1),
            variant("no spinning", spin=0),
            variant("threads=1, no spinning", threads=1, spin=0),
            variant("batch 1024", batch_tokens=1024),
            variant("batch 8192", batch_tokens=8192),
        ]
    ref = variants[0][1].embed(texts)  # also warms every code path once
    diffs = {n: float(np.abs(e.embed(texts) - ref).max()) for n, e in variants}
    times: dict[str, list[float]] = {n: [] for n, _ in variants}
    cpu: dict[str, list[float]] = {n: [] for n, _ in variants}  # this process's CPU seconds: less load-bound
    loads = []
    for r in range(args.rounds):
        order = variants[r % len(variants) :] + variants[: r % len(variants)]
        for n, e in order:
            before = os.getloadavg()[0]
            t0, c0 = time.perf_counter(), time.process_time()
            e.embed(texts)
            times[n].append(time.perf_counter() - t0)
            cpu[n].append(time.process_time() - c0)
            loads.append(
                {"round": r, "variant": n, "before": round(before, 2), "after": round(os.getloadavg()[0], 2)}
            )
        print(f"round {r}: " + ", ".join(f"{n} {times[n][-1]:.2f}s" for n, _ in variants), flush=True)
    base = statistics.median(times[variants[0][0]])
    rows = {
        n: {
            "median_s": round(statistics.median(t), 3),
            "min_s": round(min(t), 3),
            "max_s": round(max(t), 3),
            "vs_default": round(base / statistics.median(t), 3),
            "cpu_median_s": round(statistics.median(cpu[n]), 3),
            "cpu_vs_default": round(statistics.median(cpu[variants[0][0]]) / statistics.median(cpu[n]), 3),
            "max_abs_diff": diffs[n],
        }
        for n, t in times.items()
    }
    for n, row in rows.items():
        print(f"{n:22} {row}")
    meta = {
        "command": "bench/minilm_ort_options.py " + " ".join(sys.argv[1:]),
        "texts": len(texts),
        "rounds": args.rounds,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg": loads,
    }
    args.out.write_text(
        json.dumps({"meta": meta, "variants": rows, "seconds": times, "cpu_seconds": cpu}, indent=2) + "\n"
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
