"""Real MiniLM (ONNX, no torch) vs the static token vectors for theme discovery, on the TUNING sets only.

    .venv-eval/bin/python eval/themes_minilm_tuning.py [--seeds 0,1,2] [--out FILE]   (demo only)

Hypothesis (issue 15): on short comments the static vectors distilled from MiniLM lose what MiniLM's
contextual embedding knows; BERTopic, which uses real MiniLM, groups short requests better.

Protocol (fixed and committed before any run of this script, 2026-12-06; revised once before any
result was printed, because the first version's sweep would not finish in the session: under load
~12 MiniLM embeds ~30 short texts/s here, a 5,000-review clothing pass would take ~15 minutes):
candidates are "static" at its current setting (EMB_MERGE_SIM 0.5, chosen earlier on these sets) and
"minilm-onnx" (minilm_onnx.py: all-MiniLM-L6-v2 as float32 ONNX, 128 word pieces; int8 was dropped
before any run of this script: its batch-wide activation scale makes a text's vector depend on its
batch-mates) with embedded.EMB_MERGE_SIM in (0.4, 0.5, 0.6) (the centred cosine at which fine k-means
clusters merge: the one clustering setting that depends on the embedding space). Set: demo only (the
short tuning set; the question is the short-text branch of `adaptive`). Score: NMI of the saved
matcher's primary theme (what `analyze` then `feedback` show) against the demo's first scoring, seeds
0, 1, 2, mean ± sd. cfpb and banking77 are held out: this script refuses them, and they play no part
in any choice below. clothing is not run: long corpora keep tfidf, stated a priori (MiniLM there costs
minutes per pass on this machine and static already lost to tfidf on long texts).
Decisions, stated before the numbers:
1. minilm-onnx's merge setting: its best mean NMI on demo.
2. `adaptive` for short corpora (median <= 22 words, the switch fixed earlier on the tuning sets):
   takes minilm-onnx instead of static iff minilm-onnx's mean NMI on demo at that setting is higher
   than static's. When minilm-onnx is not installed (no onnxruntime or no built file) adaptive keeps
   static, and the result names the embedder used.
No other setting is changed by this run. The held-out numbers come only from eval/themes.py afterwards.
Also printed: discovery's seconds, os.getloadavg().
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


sys.path.insert(0, str(Path(__file__).resolve().parent))
import _themes_data as data

from cxchange.understand.themes import embedded
from cxchange.understand.themes.minilm_onnx import OnnxMiniLMEmbedder

ROOT = Path(__file__).resolve().parents[1]
TUNING = {"demo": data.demo}
CANDIDATES = [("static", 0.5)] + [("minilm-onnx", m) for m in (0.4, 0.5, 0.6)]


def main() -> int:
    parsed = data.tuning_args(
        __doc__.splitlines()[0], TUNING, ROOT / "eval" / "results" / "themes_minilm_tuning.json"
    )
    if parsed is None:
        return 1
    sets, seeds, out = parsed
    OnnxMiniLMEmbedder.embed = data.MemoEmbed(OnnxMiniLMEmbedder.embed)  # type: ignore[method-assign]
    embedded._kmeans = data.CachedKMeans(embedded._kmeans)
    saved = dict(embedded.MERGE_RULE_BY_EMBEDDER)
    rows = []
    for emb, merge in CANDIDATES:
        # The embedder's own entry wins over EMB_MERGE_SIM (the first run of this script set only the
        # latter, so its minilm-onnx rows all ran at the entry's 0.4).
        embedded.MERGE_RULE_BY_EMBEDDER[emb] = ("sim", merge)
        row: dict = {"embedder": emb, "merge_sim": merge}
        for n, ds in sets.items():
            row[n] = data.score_discovery(ds, seeds, emb)
        row["mean_nmi"] = round(statistics.fmean(row[n]["nmi"] for n in sets), 4)
        row["loadavg"] = [round(x, 2) for x in os.getloadavg()]
        rows.append(row)
        print(json.dumps(row), flush=True)
    embedded.MERGE_RULE_BY_EMBEDDER.clear()
    embedded.MERGE_RULE_BY_EMBEDDER.update(saved)

    chosen = max((r for r in rows if r["embedder"] == "minilm-onnx"), key=lambda r: r["mean_nmi"])
    static = next(r for r in rows if r["embedder"] == "static")
    decisions = {
        "minilm_onnx_merge_sim": chosen["merge_sim"],
        "short_texts_take_minilm_onnx": chosen["mean_nmi"] > static["mean_nmi"],
    }
    print("decisions:", json.dumps(decisions))
    data.write_tuning(out, __doc__, seeds, {"rows": rows, "decisions": decisions})
    return 0


if __name__ == "__main__":
    sys.exit(main())
