"""Data sets for eval/themes.py: the texts both methods are fitted on, and the labels NMI is scored against.

Why a helper: the evaluation script and ad-hoc tuning runs must read the same rows the same way.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "eval"
DEMO_THEMES = (
    "waiting_time",
    "staff_friendliness",
    "product_quality",
    "price_value",
    "delivery",
    "billing",
    "app_website",
    "returns_refunds",
    "app_login",
)


@dataclass
class Scoring:
    """One way of scoring a clustering: reference labels, and the rows NMI is computed over."""

    name: str
    labels: np.ndarray
    rows: np.ndarray  # bool mask over the fitted texts


@dataclass
class EvalSet:
    name: str
    texts: list[str]  # every text both methods are fitted on
    role: str  # "tuning" (looked at while choosing settings) or "held-out" (only reported)
    scorings: list[Scoring] = field(default_factory=list)


CLOTHING_SAMPLE, CLOTHING_SEED = 5000, 0  # BERTopic on all 22,641 reviews takes 15 min here: a fixed sample
DEMO_ROWS = 5000


def banking77() -> EvalSet:
    df = pl.read_csv(SHARED / "banking77_test.csv").filter(pl.col("text").is_not_null())
    return EvalSet(
        "banking77",
        df["text"].to_list(),
        "held-out",
        [Scoring("category (77 intents), all requests", df["category"].to_numpy().astype(str),
                 np.ones(df.height, bool))],
    )  # fmt: skip


# banking77's train split (disjoint from the test split, same 77 intents): a tuning set, sampled to the
# test split's size so that a session costs the same.
BANKING_TRAIN_SAMPLE, BANKING_TRAIN_SEED = 3080, 0


def banking77_train() -> EvalSet:
    df = pl.read_csv(SHARED / "banking77_train.csv").filter(pl.col("text").is_not_null())
    df = df.sample(n=min(BANKING_TRAIN_SAMPLE, df.height), seed=BANKING_TRAIN_SEED, shuffle=False)
    return EvalSet(
        "banking77_train",
        df["text"].to_list(),
        "tuning",
        [Scoring(f"category (77 intents), {df.height} train requests (fixed sample)",
                 df["category"].to_numpy().astype(str), np.ones(df.height, bool))],
    )  # fmt: skip


def cfpb() -> EvalSet:
    df = pl.read_csv(SHARED / "cfpb_narratives_product4.csv")
    df = df.filter(pl.col("Consumer complaint narrative").is_not_null())
    labels = df["Product"].to_numpy().astype(str)
    all_rows = np.ones(len(labels), bool)
    return EvalSet(
        "cfpb",
        df["Consumer complaint narrative"].to_list(),
        "held-out",
        [Scoring("Product (4 classes), all complaints", labels, all_rows)],
    )


def demo() -> EvalSet:
    from cxchange.demo import generate

    p = generate(DEMO_ROWS, seed=42).planted.filter(pl.col("text").is_not_null())
    marks = np.column_stack(
        [(p[t] != 0).to_numpy() if t != "app_login" else p[t].to_numpy().astype(bool) for t in DEMO_THEMES]
    )
    first = np.array(DEMO_THEMES)[marks.argmax(1)]
    n_marks = marks.sum(1)
    return EvalSet(
        "demo",
        p["text"].to_list(),
        "tuning",
        [
            Scoring("planted theme, comments with exactly one planted theme", first, n_marks == 1),
            Scoring("first planted theme (column order), comments with at least one", first, n_marks >= 1),
        ],
    )


def clothing() -> EvalSet:
    df = pl.read_csv(SHARED / "womens_clothing_ecommerce_reviews.csv", infer_schema_length=0)
    df = df.filter(pl.col("Review Text").is_not_null() & pl.col("Department Name").is_not_null())
    df = df.sample(n=min(CLOTHING_SAMPLE, df.height), seed=CLOTHING_SEED, shuffle=False)
    all_rows = np.ones(df.height, bool)
    return EvalSet(
        "clothing",
        df["Review Text"].to_list(),
        "tuning",
        [
            Scoring(f"Class Name, {df.height} reviews (fixed sample)", df["Class Name"].to_numpy(), all_rows),
            Scoring(
                f"Department Name, {df.height} reviews (fixed sample)",
                df["Department Name"].to_numpy(),
                all_rows,
            ),
        ],
    )


# Blitzer's multi-domain Amazon reviews (books, dvd, electronics, kitchen): long reviews from another
# domain than clothing, a TUNING set for the long-text (TF-IDF) path; a fixed sample keeps a sweep short.
BLITZER_SAMPLE, BLITZER_SEED = 3000, 0


def blitzer() -> EvalSet:
    df = pl.read_csv(SHARED / "product_reviews_multidomain_blitzer.csv", infer_schema_length=0)
    df = df.filter(pl.col("text").is_not_null() & (pl.col("text").str.strip_chars() != ""))
    df = df.sample(n=min(BLITZER_SAMPLE, df.height), seed=BLITZER_SEED, shuffle=False)
    return EvalSet(
        "blitzer",
        df["text"].to_list(),
        "tuning",
        [Scoring(f"domain (4 product kinds), {df.height} reviews (fixed sample)", df["domain"].to_numpy(),
                 np.ones(df.height, bool))],
    )  # fmt: skip


# Every set by name (eval/themes.py --sets, bench/themes_session.py --set).
SETS: dict[str, Callable[[], EvalSet]] = {
    "demo": demo,
    "clothing": clothing,
    "cfpb": cfpb,
    "banking77": banking77,
    "banking77_train": banking77_train,
    "blitzer": blitzer,
}


# Shared by the tuning scripts (eval/themes_*_tuning.py): what a sweep reads, and what it may not.


def primary(found: object, texts: list[str]) -> np.ndarray:
    """The saved matcher's first theme per text (what `analyze` then `feedback` show), -1 for none."""
    model = found.model  # type: ignore[attr-defined]
    return np.array([int(model.classes[p[0][0]]) if p else -1 for p in model.assign(texts)])


def score_discovery(ds: EvalSet, seeds: list[int], embedder: str) -> dict:
    """Discovery (``with_model``) on ``ds`` once per seed, scored by the saved matcher's primary theme
    against ``ds``'s first scoring: NMI mean, sd and runs, unassigned share, theme counts, seconds."""
    from sklearn.metrics import normalized_mutual_info_score

    from cxchange.understand.themes.discover import discover_themes

    s = ds.scorings[0]
    nmis, leaves, secs, unassigned = [], [], [], []
    for seed in seeds:
        t0 = time.perf_counter()
        found = discover_themes(ds.texts, seed=seed, embedder=embedder, with_model=True)
        secs.append(time.perf_counter() - t0)
        first = primary(found, ds.texts)
        nmis.append(float(normalized_mutual_info_score(s.labels[s.rows], first[s.rows])))
        leaves.append(len(set(found.labels.tolist()) - {-1}))
        unassigned.append(float((first == -1).mean()))
    return {
        "median_words": float(np.median([len(t.split()) for t in ds.texts if t])),
        "nmi": round(statistics.fmean(nmis), 4),
        "sd": round(statistics.stdev(nmis), 4) if len(nmis) > 1 else 0.0,
        "runs": [round(x, 4) for x in nmis],
        "unassigned": round(statistics.fmean(unassigned), 4),
        "themes": leaves,
        "seconds_incl_cached_embedding": round(statistics.fmean(secs), 2),
    }


class MemoEmbed:
    """Embedding is deterministic: each embedder (by name) embeds the same texts once for every seed or
    setting swept. Installed in place of a class's ``embed``."""

    def __init__(self, embed: Callable[..., np.ndarray]) -> None:
        self.embed = embed
        self.memo: dict[str, np.ndarray] = {}

    def __get__(self, obj: object, owner: type | None = None) -> Callable[[list[str]], np.ndarray]:
        def bound(texts: list[str]) -> np.ndarray:
            key = hashlib.sha256(("\x01".join([str(getattr(obj, "name", "")), *texts])).encode()).hexdigest()
            if key not in self.memo:
                self.memo[key] = self.embed(obj, texts)
            return self.memo[key].copy()

        return bound


def summarise(runs: list[dict]) -> dict:
    """Per key of a sweep's runs (one dict per seed): mean, sd and the runs, to 4 digits."""
    out: dict = {}
    for key in runs[0]:
        values = [float(r[key]) for r in runs]
        out[key] = {
            "mean": round(statistics.fmean(values), 4),
            "sd": round(statistics.stdev(values), 4) if len(values) > 1 else 0.0,
            "runs": [round(v, 4) for v in values],
        }
    return out


def write_tuning(out: Path, doc: str | None, seeds: list[int], body: dict, **meta: object) -> None:
    """Write a tuning sweep's results: ``body`` (rows, decisions) under a ``meta`` holding the command,
    seeds, load at the end and the protocol paragraph of the script's docstring ``doc``."""
    head = {
        "command": " ".join(["eval/" + Path(sys.argv[0]).name, *sys.argv[1:]]),
        "seeds": seeds,
        **meta,
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        "protocol": (doc or "").split("Protocol")[1].split("Also printed")[0].strip(),
    }
    out.write_text(json.dumps({"meta": head, **body}, indent=2) + "\n")
    print(f"wrote {out}")


class CachedKMeans:
    """The fine k-means depends on (vectors, k, seed) only: computed once for every merge setting swept."""

    def __init__(self, kmeans: Callable[[np.ndarray, int, int], tuple[np.ndarray, np.ndarray]]) -> None:
        self.kmeans = kmeans
        self.cache: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}

    def __call__(self, e: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        key = (e.shape, hashlib.sha256(e.tobytes()).hexdigest(), k, seed)
        if key not in self.cache:
            self.cache[key] = self.kmeans(e, k, seed)
        labels, cent = self.cache[key]
        return labels.copy(), cent.copy()


def tuning_args(
    description: str, tuning: dict[str, Callable[[], EvalSet]], default_out: Path
) -> tuple[dict[str, EvalSet], list[int], Path] | None:
    """--sets, --seeds, --out of a tuning sweep; None (after saying why) when a held-out set is named."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--sets", default=",".join(tuning))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--out", type=Path, default=default_out)
    args = parser.parse_args()
    names = [s for s in args.sets.split(",") if s]
    held = [n for n in names if n not in tuning]
    if held:
        print(f"refused: {held} are held out or unknown; tuning uses {', '.join(tuning)} only")
        return None
    return {n: tuning[n]() for n in names}, [int(s) for s in args.seeds.split(",")], args.out


def fresh_store(texts: list[str], work: Path, tag: str, cx: Callable[[list[str], str], object]) -> str:
    """A new SQLite database in ``work`` holding ``texts`` (external ids r0, r1, ...), imported the way a
    user would (``cx(args, db_url)`` runs one cxchange command); returns its URL."""
    db_file = work / f"{tag}.db"
    db_file.unlink(missing_ok=True)
    db = f"sqlite:///{db_file}"
    csv_path = work / "texts.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "text"])
        w.writerows((f"r{i}", t) for i, t in enumerate(texts))
    cx(["import", str(csv_path), "--source", "eval", "--map", "text=text", "--map", "external_id=id",
        "--format", "json"], db)  # fmt: skip
    return db
