"""Static int8 MiniLM ("minilm-int8") vs the float32 file ("minilm-onnx"), on the TUNING sets only.

    .venv-eval/bin/python eval/themes_int8_tuning.py [--seeds 0,1,2] [--out FILE]   (demo only)

Question (issue 15's speed target): can `adaptive`'s short-text embedder be the int8 copy of MiniLM,
whose activation scales are fixed from calibration texts (minilm_onnx.quantize), without losing theme
quality, so that a theme session costs less?

Protocol (fixed and committed 2026-12-07 before any number of the int8 encoder was looked at): the
candidates are "minilm-onnx" and "minilm-int8", both at the merge setting minilm-onnx was tuned at
(0.4, embedded.MERGE_RULE_BY_EMBEDDER); nothing else is swept. Set: demo only (the short tuning set:
`adaptive` sends long corpora such as the clothing reviews to tfidf, so the encoder cannot change
them; eval/themes.py's tuning run reports clothing anyway). Score: NMI of the saved matcher's primary
theme against the demo's first scoring, seeds 0, 1, 2, mean ± sd. cfpb and banking77 are held out:
this script refuses them. The rule, also in minilm_onnx.py's docstring, applied below from this run and
from bench/results/minilm_onnx.json (bench/minilm_onnx.py, run before this script):
1. batch-independent: the int8 file's largest |row in batch - row alone| <= 1e-6 on both bench sets
   (tests/understand/test_minilm_int8.py checks the same on mixed lengths);
2. speed: int8 texts/s >= 1.5x the float32 file's on both bench sets (median of interleaved rounds);
3. quality: int8's mean demo NMI is at most 0.01 below float32's.
All three: `adaptive` takes "minilm-int8" for short corpora when it is built (else "minilm-onnx", else
"static"); otherwise float32 stays the default and int8 is only selectable by name. The held-out
numbers come only from eval/themes.py afterwards, run once.
Also printed: discovery's seconds (embedding cached after the first seed), os.getloadavg().
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _themes_data as data

from cxchange.understand.themes import embedded
from cxchange.understand.themes.minilm_onnx import OnnxMiniLMEmbedder

ROOT = Path(__file__).resolve().parents[1]
TUNING = {"demo": data.demo}
CANDIDATES = ("minilm-onnx", "minilm-int8")
BENCH = ROOT / "bench" / "results" / "minilm_onnx.json"
MAX_BATCH_GAP, MIN_SPEEDUP, MAX_NMI_DROP = 1e-6, 1.5, 0.01


def main() -> int:
    parsed = data.tuning_args(
        __doc__.splitlines()[0] if __doc__ else "",
        TUNING,
        ROOT / "eval" / "results" / "themes_int8_tuning.json",
    )
    if parsed is None:
        return 1
    sets, seeds, out = parsed
    if not BENCH.is_file():
        print(f"error: {BENCH} missing: run bench/minilm_onnx.py first (rule 1 and 2 read it)")
        return 1
    bench = json.loads(BENCH.read_text())["sets"]
    OnnxMiniLMEmbedder.embed = data.MemoEmbed(OnnxMiniLMEmbedder.embed)  # type: ignore[method-assign]
    embedded._kmeans = data.CachedKMeans(embedded._kmeans)
    rows = []
    for emb in CANDIDATES:
        row: dict = {"embedder": emb, "merge_rule": list(embedded.MERGE_RULE_BY_EMBEDDER[emb])}
        for n, ds in sets.items():
            row[n] = data.score_discovery(ds, seeds, emb)
        row["loadavg"] = [round(x, 2) for x in os.getloadavg()]
        rows.append(row)
        print(json.dumps(row), flush=True)

    f32, int8 = rows
    gaps = {n: bench[n]["onnx_int8"]["batch_vs_alone_max_abs"] for n in bench}
    speed = {n: bench[n]["onnx_int8"]["speedup_over_onnx"] for n in bench}
    drop = round(f32["demo"]["nmi"] - int8["demo"]["nmi"], 4)
    checks = {
        "batch_independent": all(g <= MAX_BATCH_GAP for g in gaps.values()),
        "speedup_ge_1_5x": all(s >= MIN_SPEEDUP for s in speed.values()),
        "nmi_drop_le_0_01": drop <= MAX_NMI_DROP,
    }
    decisions = {
        "batch_vs_alone_max_abs": gaps,
        "speedup_over_float32": speed,
        "demo_nmi_float32_minus_int8": drop,
        "checks": checks,
        "short_texts_take_minilm_int8": all(checks.values()),
    }
    print("decisions:", json.dumps(decisions))
    data.write_tuning(
        out,
        __doc__,
        seeds,
        {"rows": rows, "decisions": decisions},
        bench=str(BENCH.relative_to(ROOT)),
        bench_command=json.loads(BENCH.read_text())["meta"]["command"],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
