"""Same themes and assignments whatever minilm-onnx's batch size: discovery at two BATCH_TOKENS values.

    python bench/themes_identity.py [--batches 4096,1024] [--sets demo,banking77_train] [--seeds 0]

Why: the padded word pieces per onnxruntime run (minilm_onnx.BATCH_TOKENS) is a speed setting; a
text's vector is the same in any batch up to float rounding (~1e-7), and this checks that such rounding
does not move any theme: per set and seed, `discover_themes(..., embedder="minilm-onnx",
with_model=True)` once per batch size, comparing theme names, discovery labels and the saved matcher's
primary theme per text. Tuning sets only. Exit 1 if anything differs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "eval"))
import _themes_data as data  # noqa: E402

from cxchange.understand.themes import embedders  # noqa: E402
from cxchange.understand.themes.discover import discover_themes  # noqa: E402

SETS = {"demo": data.demo, "banking77_train": data.banking77_train}


MEMO: dict[tuple[int, str], np.ndarray] = {}


def run(texts: list[str], seed: int, batch: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    emb = embedders._minilm_onnx("minilm-onnx")
    emb.batch_tokens = batch  # type: ignore[attr-defined]
    inner = type(emb).embed

    def embed(strings: list[str]) -> np.ndarray:  # each string once per batch size (as analyze reuses)
        todo = [t for t in dict.fromkeys(strings) if (batch, t) not in MEMO]
        if todo:
            MEMO.update(((batch, t), v) for t, v in zip(todo, inner(emb, todo), strict=True))
        return np.stack([MEMO[batch, t] for t in strings])

    emb.embed = embed  # type: ignore[method-assign]
    found = discover_themes(texts, seed=seed, embedder="minilm-onnx", with_model=True)
    return [t.name for t in found.themes], found.labels, data.primary(found, texts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", default="4096,1024")
    parser.add_argument("--sets", default="demo,banking77_train")
    parser.add_argument("--seeds", default="0")
    args = parser.parse_args()
    a, b = (int(x) for x in args.batches.split(","))
    differ = 0
    for name in args.sets.split(","):
        texts = SETS[name]().texts
        for seed in (int(s) for s in args.seeds.split(",")):
            na, la, pa = run(texts, seed, a)
            nb, lb, pb = run(texts, seed, b)
            same = na == nb and np.array_equal(la, lb) and np.array_equal(pa, pb)
            differ += not same
            print(
                f"{name} seed {seed}: {len(na)} themes; names {'same' if na == nb else 'DIFFER'}, "
                f"labels {int((la != lb).sum())} differ, primary {int((pa != pb).sum())} differ",
                flush=True,
            )
    print("identical" if not differ else f"{differ} runs differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
