"""Train the "best" sentiment back-end and write src/cxchange/understand/sentiment/data/best_model.npz.

    .venv/bin/python train/sentiment.py [--data DIR] [--out FILE]

Reproducible: fixed seed (SEED) for the per-domain subsample, deterministic solver, data read in
file order. The data are the public, labelled sets of ../shared/eval (CXCHANGE_EVAL_DATA overrides
the folder), one *domain* each, with the 3-class gold its README documents:

* hotels, restaurants, app store reviews, Alexa reviews, clothing: stars 1-2 negative, 3 neutral,
  4-5 positive (restaurants: <= 2 negative, 2.5-3.5 neutral, >= 4 positive);
* Blitzer's Amazon products: 1-2 negative, 4-5 positive, no neutral class;
* VADER's tweets and Amazon sentences: the human mean on -4..+4 at +-0.05 (VADER's rule).
* the project's own implicit-complaint sentences (tests/understand/data/implicit_sentiment.csv),
  the "tune" half only.

The model is a logistic regression (one-vs-rest, averaged SGD, probabilities normalised) over
the lexicon's dense features and hashed word n-grams (learned.featurize). Every domain weighs the same in the
fit, and inside a domain every class weighs the same, so neither the 31k hotel reviews nor the
majority "positive" class decide alone. Each domain contributes at most CAP rows (a seeded
subsample; the fit is then minutes, not tens of minutes, on a 2-core machine).

Candidates (learned.EMBED_MODES): no embedding, the static MiniLM vector of the text, and that plus
the vector of its most negative sentence. `train` judges each by the mean macro-F1 its out-of-domain
scores reach on the training domains (the same two-group cross-fit as the thresholds, below) and
ships the best; no held-out number enters the choice. --seed changes the per-domain subsample and
the SGD order (the shipped artefact: the default seed).

score = P(positive) - P(negative). The label comes from two thresholds on the score, one pair for
short texts (<= 30 words: a request without feeling is neutral) and one for longer ones (a mixed
review is neutral), each chosen (`tune_thresholds`) to maximise the mean macro-F1 over domains on
*out-of-domain* scores: the
training domains are dealt into two groups, a model is fitted on each group and scores the other,
so the thresholds are those that work on text the model has not seen (as a customer's will be).

Only this script and eval/sentiment.py (which imports it for the leave-one-domain-out evaluation)
read that folder; the package ships the artefact and never needs the data.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # run from a checkout without installing

from cxchange.understand.sentiment.base import Sentiment  # noqa: E402
from cxchange.understand.sentiment.learned import (  # noqa: E402
    DENSE,
    EMBED_MODES,
    HASH_BITS,
    MODEL_PATH,
    embed_raw,
    featurize,
    gate,
)
from cxchange.understand.sentiment.lexicon import prepare  # noqa: E402

SEED = 20261206
CAP = 5000  # rows per domain in a fit (seeded subsample of the bigger ones)
IMPLICIT = ROOT / "tests" / "understand" / "data" / "implicit_sentiment.csv"
DATA_DIR = Path(os.environ.get("CXCHANGE_EVAL_DATA", ROOT.parent / "shared" / "eval"))
CACHE = Path(os.environ.get("CXCHANGE_SENTIMENT_CACHE", "/tmp/cxchange-sentiment-cache"))
ALPHA = 1e-3  # L2 strength (per row, SGD's convention): weaker lets scores saturate at +-1
EPOCHS = 10  # passes over the training rows
DENSE_SCALE = 3.0  # lexicon features enter 3x larger than an L2-normalised n-gram row
MIN_ROWS = 50  # rows of a length class a domain needs to count in that class's threshold choice
GRID = np.round(np.arange(-0.9, 0.901, 0.02), 2)  # candidate thresholds on the score

# name -> (file, text column, label column, how a label becomes a class)
DOMAINS: dict[str, tuple[str, str, str, str]] = {
    "hotels": ("hotel_reviews_datafiniti.csv", "text", "reviews.rating", "stars"),
    "restaurants": ("restaurant_reviews_zomato_hyderabad.csv", "text", "Rating", "half_stars"),
    "app_reviews": ("app_reviews_netflix_googleplay.csv", "text", "score", "stars"),
    "amazon_blitzer": ("product_reviews_multidomain_blitzer.csv", "text", "rating", "stars"),
    "alexa": ("product_reviews_amazon_alexa.csv", "text", "rating", "stars"),
    "clothing": ("womens_clothing_ecommerce_reviews.csv", "Review Text", "Rating", "stars"),
    "tweets": ("vader_tweets_groundtruth.tsv", "", "", "mean"),
    "amazon_sentences": ("vader_amazon_groundtruth.tsv", "", "", "mean"),
    # The project's own customer-service sentences, "tune" half only (the "holdout" half is never
    # trained on): implicit complaints and praise, which star-rated reviews rarely contain.
    "cx_sentences": (str(IMPLICIT), "text", "label", "implicit_tune"),
}
TRAIN_ONLY = ("cx_sentences",)  # a training domain, never a held-out one (its holdout half is scored instead)
SHORT_DOMAINS = ("app_reviews", "tweets", "amazon_sentences")  # one-line customer texts


@dataclass
class Domain:
    name: str
    texts: list[str]
    gold: np.ndarray  # 0 negative, 1 neutral, 2 positive


def to_class(value: float, rule: str) -> int:
    if rule == "mean":  # VADER's evaluation rule on the -4..+4 human mean
        return 2 if value >= 0.05 else 0 if value <= -0.05 else 1
    if rule == "implicit_tune":
        return int(value)
    if rule == "half_stars":
        return 0 if value <= 2 else 2 if value >= 4 else 1
    return 0 if value <= 2 else 1 if value == 3 else 2


def load_domain(name: str, data: Path = DATA_DIR) -> Domain:
    file, text_col, label_col, rule = DOMAINS[name]
    texts: list[str] = []
    gold: list[int] = []
    if rule == "mean":
        with open(data / file, encoding="utf-8") as f:
            for line in f:
                parts = line.rstrip("\n").split("\t", 2)
                if len(parts) == 3:
                    texts.append(parts[2])
                    gold.append(to_class(float(parts[1]), rule))
    else:
        with open(data / file, encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                if rule == "implicit_tune":
                    if row["split"] != "tune":
                        continue
                    row[label_col] = str(("negative", "neutral", "positive").index(row[label_col]))
                text, label = (row.get(text_col) or "").strip(), (row.get(label_col) or "").strip()
                if text and label:
                    texts.append(text)
                    gold.append(to_class(float(label), rule))
    return Domain(name, texts, np.asarray(gold, dtype=np.int64))


def load_domains(data: Path = DATA_DIR, names: Iterable[str] = DOMAINS) -> dict[str, Domain]:
    return {name: load_domain(name, data) for name in names}


@dataclass
class Features:
    """One domain featurised once; rows the back-ends cannot score (empty, not English) are dropped."""

    keep: np.ndarray  # indices into the domain of the featurised rows
    dense: np.ndarray
    hashed: object  # scipy.sparse.csr_matrix
    embedded: np.ndarray  # embed_raw(..., "text+worst"): the text's vector, then its worst sentence's


# The lexicon's modules (sentiment/): a change to any of them changes the features, so the cache key.
LEXICON_SOURCES = ("lexicon.py", "language.py", "scope.py", "base.py")


def _fingerprint() -> str:
    """Changes whenever the featurisation could: the lexicon code and data, and the feature code."""
    import inspect

    from cxchange.understand.sentiment import learned

    src = ROOT / "src" / "cxchange" / "understand" / "sentiment"
    h = hashlib.sha256()
    for path in sorted([*(src / name for name in LEXICON_SOURCES), *(src / "data").glob("*.yaml")]):
        h.update(path.read_bytes())
    for part in (learned.featurize, learned._hashes, learned._sentences, learned.embed_raw):
        h.update(inspect.getsource(part).encode())
    h.update(repr((learned.DENSE, learned.HASH_BITS, learned.SHORT_TOKENS)).encode())
    themes = src.parent / "themes" / "data"
    for path in (themes / "static_minilm.npz", themes / "static_minilm_tokenizer.json.gz"):
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def featurize_texts(texts: Sequence[str], cache_key: str | None = None) -> Features:
    """Features of the scorable texts, cached under CACHE (never committed) when `cache_key` is given."""
    from scipy import sparse

    path = CACHE / f"{cache_key}-{_fingerprint()}.npz" if cache_key else None
    if path is not None and path.exists():
        with np.load(path) as z:
            shape = (len(z["keep"]), 1 << HASH_BITS)
            hashed = sparse.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=shape)
            return Features(z["keep"], z["dense"], hashed, z["embedded"])
    keep, clean = [], []
    for i, text in enumerate(texts):
        prepared = prepare(text)
        if not isinstance(prepared, Sentiment):
            keep.append(i)
            clean.append(prepared[0])
    worst: list[str] = []
    dense, (data, indices, indptr) = featurize(clean, worst=worst)
    hashed = sparse.csr_matrix((data, indices, indptr), shape=(len(clean), 1 << HASH_BITS))
    embedded = embed_raw(clean, worst, "text+worst").astype(np.float32)
    feats = Features(np.asarray(keep, dtype=np.int64), dense, hashed, embedded)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(
            path, keep=feats.keep, dense=dense, data=data, indices=indices, indptr=indptr, embedded=embedded
        )
    return feats


def featurize_domain(domain: Domain) -> Features:
    return featurize_texts(domain.texts, cache_key=domain.name)


def training_rows(domain: Domain, feats: Features, cap: int = CAP, seed: int = SEED) -> np.ndarray:
    """Positions (in Features) used for fitting: all, or a seeded subsample of `cap`."""
    n = len(feats.keep)
    if n <= cap:
        return np.arange(n)
    rng = np.random.default_rng([seed, len(domain.name), sum(map(ord, domain.name))])
    return np.sort(rng.choice(n, size=cap, replace=False))


def fitting_rows(name: str, n: int, seed: int | None) -> np.ndarray:
    """Positions (of n scorable rows of domain `name`) used for fitting: a seeded 75 % draw, all with seed
    None. One rule for the MiniLM training script and its evaluation, so both draw the same rows."""
    if seed is None:
        return np.arange(n)
    rng = np.random.default_rng([seed, len(name), sum(map(ord, name))])
    return np.sort(rng.choice(n, size=max(1, int(0.75 * n)), replace=False))


def embedding(feats: Features, rows: np.ndarray, embed: str) -> np.ndarray:
    """The gated embedding features of a candidate (learned.EMBED_MODES), as the shipped model computes."""
    dims = feats.embedded.shape[1] // 2
    raw = feats.embedded[rows, : {"": 0, "text": dims, "text+worst": 2 * dims}[embed]].astype(np.float64)
    return gate(raw, feats.dense[rows, 0])


def design(feats: Features, rows: np.ndarray, embed: str = "") -> object:
    from scipy import sparse

    dense = np.hstack([feats.dense[rows], embedding(feats, rows, embed)]) * DENSE_SCALE
    return sparse.hstack([sparse.csr_matrix(dense), feats.hashed[rows]]).tocsr()


Part = tuple[Domain, Features, np.ndarray]


def fit(
    parts: Sequence[Part], embed: str = "", seed: int = SEED, alpha: float = ALPHA
) -> dict[str, np.ndarray]:
    """Multinomial logistic regression on the given rows of each domain (equal weight per domain and,
    inside it, per class); returns the weights best_model.npz stores (thresholds added by the caller)."""
    from scipy import sparse
    from sklearn.linear_model import SGDClassifier

    xs, ys, ws = [], [], []
    for domain, feats, rows in parts:
        y = domain.gold[feats.keep[rows]]
        present = np.unique(y)
        counts = np.bincount(y, minlength=3).astype(float)
        w = 1.0 / (len(present) * counts[y])  # each present class 1/k of the domain, domain sums to 1
        xs.append(design(feats, rows, embed))
        ys.append(y)
        ws.append(w)
    x, y, w = sparse.vstack(xs).tocsr(), np.concatenate(ys), np.concatenate(ws)
    # Averaged SGD on the log loss (one-vs-rest; the three probabilities normalised): a few passes
    # over the rows, so leave-one-domain-out's 24 fits take minutes on a busy 2-core machine, where
    # an exact multinomial solver took 7 minutes per fit. Deterministic: fixed seed, one thread.
    clf = SGDClassifier(
        loss="log_loss", alpha=alpha, max_iter=EPOCHS, tol=None, average=True, random_state=seed
    )
    clf.fit(x, y, sample_weight=w * len(y) / w.sum())
    coef, intercept = clf.coef_, clf.intercept_
    if len(clf.classes_) < 3:  # a fit on one domain without a class (Blitzer: no neutral)
        coef, intercept = np.zeros((3, x.shape[1])), np.full(3, -30.0)  # an absent class: never chosen
        if len(clf.classes_) == 2:  # sklearn keeps one row, for classes_[1] against classes_[0]
            lo, hi = clf.classes_
            coef[hi], intercept[hi] = clf.coef_[0], clf.intercept_[0]
            coef[lo], intercept[lo] = -clf.coef_[0], -clf.intercept_[0]
    k = len(DENSE)
    e = x.shape[1] - (1 << HASH_BITS)  # dense columns: lexical, then the gated embedding
    return {
        "dense": (coef[:, :k] * DENSE_SCALE).astype(np.float32),  # (3, len(DENSE))
        "embed": np.asarray(embed),
        "embedded": (coef[:, k:e] * DENSE_SCALE).astype(np.float32),  # (3, gated embedding columns)
        "hashed": coef[:, e:].astype(np.float16),  # (3, 2^bits)
        "intercept": intercept.astype(np.float32),
        "bits": np.asarray(HASH_BITS),
        "dense_names": np.asarray(DENSE),
    }


def predict(params: dict[str, np.ndarray], feats: Features, rows: np.ndarray) -> np.ndarray:
    """Scores P(positive) - P(negative), computed as the shipped model does (float16 weights included)."""
    logits = feats.dense[rows] @ params["dense"].astype(np.float64).T + params["intercept"].astype(np.float64)
    logits += feats.hashed[rows] @ params["hashed"].astype(np.float64).T
    logits += embedding(feats, rows, str(params["embed"])) @ params["embedded"].astype(np.float64).T
    p = 1.0 / (1.0 + np.exp(-np.clip(logits, -30.0, 30.0)))  # one-vs-rest: normalised sigmoids
    p /= p.sum(axis=1, keepdims=True)
    return p[:, 2] - p[:, 0]


def classify(scores: np.ndarray, thresholds: tuple[float, float]) -> np.ndarray:
    """0 negative when score <= lower, 2 positive when score >= upper, else 1 neutral."""
    lower, upper = thresholds
    return np.where(scores >= upper, 2, np.where(scores <= lower, 0, 1))


def macro_f1(gold: np.ndarray, predicted: np.ndarray) -> float:
    """Macro-F1 over the classes present in gold (Blitzer: "neutral" answers are errors, no neutral F1);
    sklearn's f1_score(average="macro", labels=present) computed from one confusion count, because
    the threshold search calls it tens of thousands of times."""
    confusion = np.bincount(gold * 3 + predicted, minlength=9).reshape(3, 3).astype(float)
    tp = np.diag(confusion)
    gold_n, pred_n = confusion.sum(axis=1), confusion.sum(axis=0)
    present = gold_n > 0
    f1 = np.divide(2 * tp, gold_n + pred_n, out=np.zeros(3), where=(gold_n + pred_n) > 0)
    return float(f1[present].mean())


def is_short(feats: Features, rows: np.ndarray) -> np.ndarray:
    """Rows of at most SHORT_TOKENS words (the "short" gate of featurize is >= 0.5 exactly then)."""
    return feats.dense[rows, 0] >= 0.5


def classify_by_length(scores: np.ndarray, thresholds: np.ndarray, short: np.ndarray) -> np.ndarray:
    """classify() with thresholds[0] for long rows and thresholds[1] for short ones."""
    return np.where(short, classify(scores, tuple(thresholds[1])), classify(scores, tuple(thresholds[0])))


def tune_thresholds(scored: Sequence[tuple[np.ndarray, np.ndarray]]) -> tuple[float, float]:
    """The (lower, upper) pair on GRID with the best mean macro-F1 over the given (gold, scores) sets."""
    best, best_pair = -1.0, (-0.05, 0.05)
    for lower in GRID:
        for upper in GRID[lower <= GRID]:
            pair = (float(lower), float(upper))
            value = np.mean([macro_f1(g, classify(s, pair)) for g, s in scored])
            if value > best + 1e-12:
                best, best_pair = float(value), pair
    return best_pair


def out_of_domain_scores(
    domains: dict[str, Domain], feats: dict[str, Features], embed: str = "", seed: int = SEED
) -> dict[str, np.ndarray]:
    """Scores of each domain's training rows by a model that never saw that domain: the domains are
    dealt alternately into two groups, a model fitted on one group scores the other."""
    names = list(domains)
    groups = [names[0::2], names[1::2]]
    out: dict[str, np.ndarray] = {}
    for fitted, scored in ((groups[0], groups[1]), (groups[1], groups[0])):
        rows = {n: training_rows(domains[n], feats[n], seed=seed) for n in names}
        params = fit([(domains[n], feats[n], rows[n]) for n in fitted], embed, seed)
        for n in scored:
            out[n] = predict(params, feats[n], rows[n])
    return out


def tune_by_length(
    domains: dict[str, Domain], feats: dict[str, Features], ood: dict[str, np.ndarray], seed: int = SEED
) -> tuple[np.ndarray, float]:
    """Thresholds (row 0 long texts, row 1 short) tuned on out-of-domain scores, and the mean macro-F1
    over the domains that those scores reach with them (the candidate-selection criterion)."""
    pairs = []
    rows = {n: training_rows(d, feats[n], seed=seed) for n, d in domains.items()}
    for want_short in (False, True):
        scored = []
        for n, d in domains.items():
            mask = is_short(feats[n], rows[n]) == want_short
            if mask.sum() >= MIN_ROWS:  # a domain with a handful of texts of this length says little
                scored.append((d.gold[feats[n].keep[rows[n]]][mask], ood[n][mask]))
        pairs.append(tune_thresholds(scored))
    thresholds = np.asarray(pairs, dtype=np.float32)
    reached = [
        macro_f1(
            d.gold[feats[n].keep[rows[n]]],
            classify_by_length(ood[n], thresholds, is_short(feats[n], rows[n])),
        )
        for n, d in domains.items()
    ]
    return thresholds, float(np.mean(reached))


def train(
    domains: dict[str, Domain],
    feats: dict[str, Features],
    candidates: Sequence[str] = EMBED_MODES,
    seed: int = SEED,
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """The model and its thresholds, from the given domains only, and each candidate's criterion.

    Candidates are the embedding modes (learned.EMBED_MODES). Each is judged by the mean macro-F1 its
    out-of-domain scores reach on these domains (two groups, each scored by a model fitted on the
    other, thresholds tuned on those scores); the best (the earlier in `candidates` on a tie) is fitted
    on all the domains' rows and keeps the thresholds tuned for it."""
    judged: dict[str, tuple[np.ndarray, float]] = {}
    for embed in candidates:
        judged[embed] = tune_by_length(
            domains, feats, out_of_domain_scores(domains, feats, embed, seed), seed
        )
    chosen = max(candidates, key=lambda c: (judged[c][1], -candidates.index(c)))
    params = fit(
        [(d, feats[n], training_rows(d, feats[n], seed=seed)) for n, d in domains.items()], chosen, seed
    )
    params["thresholds"] = judged[chosen][0]
    return params, {c: round(v[1], 4) for c, v in judged.items()}


def save(params: dict[str, np.ndarray], path: Path = MODEL_PATH) -> str:
    np.savez_compressed(path, **params)
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA_DIR)
    ap.add_argument("--out", type=Path, default=MODEL_PATH)
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args(argv)
    started = time.perf_counter()
    domains = load_domains(args.data)
    feats = {}
    for name, domain in domains.items():
        feats[name] = featurize_domain(domain)
        print(f"{name}: {len(domain.texts)} texts, {len(feats[name].keep)} scorable", flush=True)
    params, criterion = train(domains, feats, seed=args.seed)
    print(f"out-of-domain criterion per candidate {criterion}: chose {str(params['embed'])!r}")
    digest = save(params, args.out)
    size = args.out.stat().st_size / 1e6
    for kind, (lower, upper) in zip(("long", "short"), params["thresholds"].tolist(), strict=True):
        print(f"thresholds, {kind} texts: negative <= {lower:.2f}, positive >= {upper:.2f}")
    print(f"wrote {args.out} ({size:.1f} MB, sha256 {digest}) in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
