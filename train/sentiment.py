"""Train the "best" sentiment back-end and write src/cxchange/understand/sentiment/data/best_model.npz.

    .venv/bin/python train/sentiment.py [--data DIR] [--out FILE]

Reproducible: fixed seed, deterministic solver, data read in file order. The data are public,
labelled sets from ../shared/eval (CXCHANGE_EVAL_DATA overrides the folder):

* womens_clothing_ecommerce_reviews.csv (CC0): `Review Text` with Rating 1-2 negative, 3 neutral,
  4-5 positive;
* vader_tweets_groundtruth.tsv, vader_amazon_groundtruth.tsv (MIT): id, mean of human ratings on
  -4..+4, text; the target is the mean squashed into (-1, 1) like VADER's compound (squash()).

The model is a ridge regression of that intensity (stars 1..5 become -1, -0.5, 0, 0.5, 1) over
hashed n-grams and the lexicon's features (cxchange.understand.sentiment.learned.featurize).

Only this script (and eval/sentiment.py, which imports it for cross-validation) reads that folder;
the package ships the artefact and never needs the data.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # run from a checkout without installing

from cxchange.understand.sentiment.base import Sentiment  # noqa: E402
from cxchange.understand.sentiment.learned import DENSE, HASH_BITS, MODEL_PATH, featurize  # noqa: E402
from cxchange.understand.sentiment.lexicon import prepare  # noqa: E402

SEED = 20240611
FOLDS = 5
DATA_DIR = Path(os.environ.get("CXCHANGE_EVAL_DATA", ROOT.parent / "shared" / "eval"))
ALPHA = 1.0  # L2 strength; chosen on the development fold only (see eval/sentiment.py)
TARGET_ALPHA = 1.0  # see squash()
BAND = 0.25  # the label's neutral band: half-way between 3 stars (0) and 2 or 4 stars (+-0.5)
# Lexicon features enter 3x larger than an L2-normalised n-gram row, so the ridge penalty spares them.
DENSE_SCALE = 3.0
CORPUS_WEIGHT = {"clothing": 1.0, "tweets": 2.0, "amazon": 2.0}  # the smaller sets would drown otherwise


@dataclass
class Corpus:
    name: str
    texts: list[str]
    target: np.ndarray  # intensity in [-1, 1]: squashed human mean, or stars mapped to -1 .. 1
    classes: np.ndarray  # gold class 0 negative, 1 neutral, 2 positive (VADER's +-0.05 rule or stars)


def read_tsv(path: Path) -> tuple[list[str], np.ndarray]:
    texts, means = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t", 2)
            if len(parts) == 3:
                means.append(float(parts[1]))
                texts.append(parts[2])
    return texts, np.asarray(means)


def read_clothing(path: Path) -> tuple[list[str], np.ndarray]:
    texts, ratings = [], []
    with open(path, encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            text = (row.get("Review Text") or "").strip()
            if text and row.get("Rating", "").strip():
                texts.append(text)
                ratings.append(int(row["Rating"]))
    return texts, np.asarray(ratings)


def rating_class(ratings: np.ndarray) -> np.ndarray:
    """1-2 negative (0), 3 neutral (1), 4-5 positive (2)."""
    return np.where(ratings <= 2, 0, np.where(ratings == 3, 1, 2))


def squash(mean: np.ndarray) -> np.ndarray:
    """A human mean on -4..+4 as a target in (-1, 1), shaped like VADER's compound score: slope 1 at 0,
    so the +-0.05 neutral band means the same on both scales, saturating for strong feelings."""
    return mean / np.sqrt(mean * mean + TARGET_ALPHA)


def mean_class(mean: np.ndarray, band: float = 0.05) -> np.ndarray:
    """VADER's evaluation rule: mean >= 0.05 positive, <= -0.05 negative, else neutral."""
    return np.where(mean >= band, 2, np.where(mean <= -band, 0, 1))


def load_corpora(data: Path = DATA_DIR) -> dict[str, Corpus]:
    tweets, t_mean = read_tsv(data / "vader_tweets_groundtruth.tsv")
    amazon, a_mean = read_tsv(data / "vader_amazon_groundtruth.tsv")
    clothing, ratings = read_clothing(data / "womens_clothing_ecommerce_reviews.csv")
    return {
        "tweets": Corpus("tweets", tweets, squash(t_mean), mean_class(t_mean)),
        "amazon": Corpus("amazon", amazon, squash(a_mean), mean_class(a_mean)),
        "clothing": Corpus("clothing", clothing, (ratings - 3) / 2.0, rating_class(ratings)),
    }


def fold_ids(n: int, k: int = FOLDS, seed: int = SEED) -> np.ndarray:
    """Fold of each row: a seeded permutation dealt round-robin, so folds differ in size by <= 1."""
    folds = np.empty(n, dtype=np.int64)
    folds[np.random.default_rng(seed).permutation(n)] = np.arange(n) % k
    return folds


@dataclass
class Features:
    """One corpus featurised once; rows the back-ends cannot score (empty, not English) are dropped."""

    keep: np.ndarray  # indices into the corpus of the featurised rows
    dense: np.ndarray
    hashed: object  # scipy.sparse.csr_matrix


def featurize_corpus(corpus: Corpus) -> Features:
    from scipy import sparse

    keep, clean = [], []
    for i, text in enumerate(corpus.texts):
        prepared = prepare(text)
        if not isinstance(prepared, Sentiment):
            keep.append(i)
            clean.append(prepared[0])
    dense, (data, indices, indptr) = featurize(clean)
    hashed = sparse.csr_matrix((data, indices, indptr), shape=(len(clean), 1 << HASH_BITS))
    return Features(np.asarray(keep, dtype=np.int64), dense, hashed)


def design(feats: Features, rows: np.ndarray) -> object:
    from scipy import sparse

    return sparse.hstack([sparse.csr_matrix(feats.dense[rows] * DENSE_SCALE), feats.hashed[rows]]).tocsr()


def fit(parts: Sequence[tuple[Corpus, Features, np.ndarray]], alpha: float = ALPHA) -> dict[str, np.ndarray]:
    """Train on the given rows (positions in Features) of each corpus; returns what best_model.npz stores."""
    from scipy import sparse
    from sklearn.linear_model import Ridge

    xs, ys, ws = [], [], []
    for corpus, feats, rows in parts:
        xs.append(design(feats, rows))
        ys.append(corpus.target[feats.keep[rows]])
        ws.append(np.full(len(rows), CORPUS_WEIGHT[corpus.name]))
    x, y, w = sparse.vstack(xs).tocsr(), np.concatenate(ys), np.concatenate(ws)
    reg = Ridge(alpha=alpha, solver="sparse_cg", tol=1e-4, max_iter=5000)
    reg.fit(x, y, sample_weight=w / w.mean())
    k = len(DENSE)
    return {
        "dense": (reg.coef_[:k] * DENSE_SCALE).astype(np.float32),
        "hashed": reg.coef_[k:].astype(np.float16),
        "intercept": np.asarray(reg.intercept_, dtype=np.float32),
        "band": np.asarray(BAND, dtype=np.float32),
        "bits": np.asarray(HASH_BITS),
        "dense_names": np.asarray(DENSE),
    }


def predict(params: dict[str, np.ndarray], feats: Features, rows: np.ndarray) -> np.ndarray:
    """Scores for featurised rows, computed as the shipped model does (float16 weights included)."""
    y = feats.dense[rows] @ params["dense"].astype(np.float64) + float(params["intercept"])
    y += feats.hashed[rows] @ params["hashed"].astype(np.float64)
    return np.clip(y, -1.0, 1.0)


def save(params: dict[str, np.ndarray], path: Path = MODEL_PATH) -> str:
    np.savez_compressed(path, **params)
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA_DIR)
    ap.add_argument("--out", type=Path, default=MODEL_PATH)
    args = ap.parse_args(argv)
    started = time.perf_counter()
    corpora = load_corpora(args.data)
    parts = []
    for corpus in corpora.values():
        feats = featurize_corpus(corpus)
        parts.append((corpus, feats, np.arange(len(feats.keep))))
        print(f"{corpus.name}: {len(corpus.texts)} texts, {len(feats.keep)} scorable")
    params = fit(parts)
    digest = save(params, args.out)
    size = args.out.stat().st_size / 1e6
    print(f"wrote {args.out} ({size:.1f} MB, sha256 {digest}) in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
