"""Sentiment evaluation: vaderSentiment, cxchange "fast" and cxchange "best" on the same texts, same run.

    python eval/sentiment.py [--data DIR] [--quick]

Data (../shared/eval beside the checkout, or --data / CXCHANGE_EVAL_DATA):
* vader_tweets_groundtruth.tsv, vader_amazon_groundtruth.tsv: Pearson r with the human mean, and
  3-class F1 (gold class from the mean at +-0.05, predicted class from the score at +-0.05,
  support-weighted), as in the VADER paper;
* womens_clothing_ecommerce_reviews.csv: `Review Text`, gold class from Rating (1-2 negative,
  3 neutral, 4-5 positive), macro-F1 of each back-end's label;
* a hand-made airline smoke set (eval/_sentiment_airline.py): a smoke check, not a claim;
* skytrax_seat_reviews.csv, an unseen customer-service domain (airline reviews; never used for
  training or tuning): gold class from overall_rating 1-10 (1-4 negative, 5-6 neutral, 7-10
  positive, fixed before the first scoring), macro-F1 of VADER, fast and the shipped best model;
* speed: texts per second of vaderSentiment and the fast back-end on the same texts.

Honest evaluation. Every set is split into 5 seeded folds (train/sentiment.py: fold_ids). Fold 0
of each set was the development fold: while the lexicon rules, the features and the model's
settings (ridge alpha, neutral band, length gate) were chosen, only fold-0 results were looked at.
After the first full run nothing was tuned; only speed changed, and the language guess stopped
reading ".com" as Portuguese (found by listing the 4 texts, of all rows, flagged as not English).
All headline numbers are on folds 1-4, for every system. The fast back-end is not trained; its
customer-service word list was written by hand, not fitted to these sets. The best back-end is
cross-fitted: for each fold k in 1-4 a model is trained with train/sentiment.py's functions on
every row of the three sets except fold k and predicts fold k, so no reported prediction comes from
a model that saw its row. "best, other sets only" trains on the two other sets alone, to show what
the model does on a kind of text it has never seen. The shipped model (trained on everything) is
only used on the airline smoke set, on the unseen Skytrax reviews and for speed. Unscorable texts
(empty, not English) count as score 0 / neutral and are counted in the output.

Prints tables and writes eval/results/sentiment.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats
from sklearn.metrics import accuracy_score, f1_score

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
DEFAULT_DATA = Path(os.environ.get("CXCHANGE_EVAL_DATA", ROOT.parent / "shared" / "eval"))
LABELS = ["negative", "neutral", "positive"]
DEV_FOLD = 0


def load_training_module() -> Any:
    """train/sentiment.py is a script, not a package: import it by path."""
    spec = importlib.util.spec_from_file_location("cx_train_sentiment", ROOT / "train" / "sentiment.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def classes(scores: np.ndarray, band: float = 0.05) -> np.ndarray:
    return np.where(scores >= band, 2, np.where(scores <= -band, 0, 1))


def intensity_metrics(mean: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    gold = classes(mean)
    return {
        "pearson_r": round(float(stats.pearsonr(mean, scores)[0]), 4),
        "f1_weighted": round(float(f1_score(gold, classes(scores), average="weighted")), 4),
    }


def class_metrics(gold: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    return {
        "macro_f1": round(float(f1_score(gold, predicted, average="macro", labels=[0, 1, 2])), 4),
        "accuracy": round(float(accuracy_score(gold, predicted)), 4),
    }


def backend_scores(backend: Any, texts: list[str]) -> tuple[np.ndarray, np.ndarray, int]:
    """Scores (None -> 0), label classes (unscorable -> neutral) and the number unscorable."""
    out = backend.score(texts)
    scores = np.array([0.0 if s.score is None else s.score for s in out])
    labels = np.array([LABELS.index(s.label) if s.label in LABELS else 1 for s in out])
    return scores, labels, sum(1 for s in out if s.score is None)


def cross_fitted_best(
    train: Any, corpora: dict[str, Any], feats: dict[str, Any], folds: dict[str, Any]
) -> dict[str, Any]:
    """Out-of-fold scores of the best model for folds 1-4 of every set, plus models trained without a set."""
    scores = {name: np.zeros(len(c.texts)) for name, c in corpora.items()}
    for k in range(1, train.FOLDS):
        started = time.perf_counter()
        parts = []
        for name, corpus in corpora.items():
            f = feats[name]
            parts.append((corpus, f, np.where(folds[name][f.keep] != k)[0]))
        params = train.fit(parts)
        for name in corpora:
            f = feats[name]
            rows = np.where(folds[name][f.keep] == k)[0]
            scores[name][f.keep[rows]] = train.predict(params, f, rows)
        print(f"  best, fold {k}: trained and scored in {time.perf_counter() - started:.0f} s", flush=True)
    transfer = {name: np.zeros(len(c.texts)) for name, c in corpora.items()}
    for held in corpora:
        parts = [(c, feats[n], np.arange(len(feats[n].keep))) for n, c in corpora.items() if n != held]
        params = train.fit(parts)
        f = feats[held]
        transfer[held][f.keep] = train.predict(params, f, np.arange(len(f.keep)))
        print(f"  best without {held}: trained and scored", flush=True)
    return {"cv": scores, "transfer": transfer}


def speed(vader: Any, fast: Any, best: Any, texts: list[str], repeats: int = 5) -> dict[str, float]:
    """Texts per second, one process, one thread, tables loaded before timing. The systems take turns
    and each keeps its best round, so a busy machine slows all of them alike."""
    fast.score(texts[:10])
    best.score(texts[:10])
    runs = {
        "vader": lambda: [vader.polarity_scores(t) for t in texts],
        "fast": lambda: fast.score(texts),
        "best": lambda: best.score(texts),
    }
    fastest = dict.fromkeys(runs, float("inf"))
    for _ in range(repeats):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            fastest[name] = min(fastest[name], time.perf_counter() - started)
    rate = {name: len(texts) / seconds for name, seconds in fastest.items()}
    return {
        "texts": len(texts),
        "rounds": repeats,
        "vader_per_s": round(rate["vader"]),
        "fast_per_s": round(rate["fast"]),
        "best_per_s": round(rate["best"]),
        "fast_vs_vader": round(rate["fast"] / rate["vader"], 2),
    }


def table(title: str, header: list[str], rows: list[list[Any]]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    print(f"\n{title}")
    print("  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(r, widths, strict=True)))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--quick", action="store_true", help="skip the cross-fitting (no best numbers)")
    args = ap.parse_args(argv)
    started = time.perf_counter()

    import _sentiment_airline as airline
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from cxchange.understand.sentiment import get_backend

    train = load_training_module()
    vader, fast, best = SentimentIntensityAnalyzer(), get_backend("fast"), get_backend("best")
    corpora = train.load_corpora(args.data)
    folds = {name: train.fold_ids(len(c.texts)) for name, c in corpora.items()}
    print("featurising for the cross-fitted best model ...", flush=True)
    feats = {name: train.featurize_corpus(c) for name, c in corpora.items()}
    best_scores = None if args.quick else cross_fitted_best(train, corpora, feats, folds)

    results: dict[str, Any] = {"protocol": __doc__.split("Honest evaluation.")[1].split("Prints")[0].split()}
    results["protocol"] = " ".join(results["protocol"])
    results["sets"] = {}
    rows_int, rows_cls, rows_all = [], [], []
    for name, corpus in corpora.items():
        test = np.where(folds[name] != DEV_FOLD)[0]
        texts = [corpus.texts[i] for i in test]
        v = np.array([vader.polarity_scores(t)["compound"] for t in corpus.texts])
        f_scores, f_labels, f_unscored = backend_scores(fast, corpus.texts)
        entry: dict[str, Any] = {"rows_reported": len(texts), "rows_total": len(corpus.texts)}
        entry["unscorable"] = {"fast_and_best": f_unscored}
        if name == "clothing":
            gold = corpus.classes
            entry["vader"] = class_metrics(gold[test], classes(v[test]))
            entry["fast"] = class_metrics(gold[test], f_labels[test])
            if best_scores is not None:
                band = float(train.BAND)
                entry["best"] = class_metrics(gold[test], classes(best_scores["cv"][name][test], band))
                entry["best_other_sets_only"] = class_metrics(
                    gold[test], classes(best_scores["transfer"][name][test], band)
                )
            for system in ("vader", "fast", "best", "best_other_sets_only"):
                if system in entry:
                    rows_cls.append([system, entry[system]["macro_f1"], entry[system]["accuracy"]])
        else:
            mean = np.array([float(x) for x in _means(args.data, name)])
            entry["vader"] = intensity_metrics(mean[test], v[test])
            entry["fast"] = intensity_metrics(mean[test], f_scores[test])
            entry["all_rows"] = {
                "vader": intensity_metrics(mean, v),
                "fast": intensity_metrics(mean, f_scores),
            }
            if best_scores is not None:
                entry["best"] = intensity_metrics(mean[test], best_scores["cv"][name][test])
                transfer = best_scores["transfer"][name][test]
                entry["best_other_sets_only"] = intensity_metrics(mean[test], transfer)
            for system in ("vader", "fast", "best", "best_other_sets_only"):
                if system in entry:
                    rows_int.append([name, system, entry[system]["pearson_r"], entry[system]["f1_weighted"]])
            for system in ("vader", "fast"):
                a = entry["all_rows"][system]
                rows_all.append([name, system, a["pearson_r"], a["f1_weighted"]])
        results["sets"][name] = entry

    gold_air = np.array([LABELS.index(g) for g in airline.GOLD])
    v_air = np.array([vader.polarity_scores(t)["compound"] for t in airline.TEXTS])
    results["airline_smoke"] = {
        "texts": len(airline.TEXTS),
        "note": "hand-made by the developer, gold fixed before scoring; a smoke check, not a claim",
        "vader": class_metrics(gold_air, classes(v_air)),
        "fast": class_metrics(gold_air, backend_scores(fast, airline.TEXTS)[1]),
        "best (shipped model)": class_metrics(gold_air, backend_scores(best, airline.TEXTS)[1]),
    }
    results["unseen_airline_reviews"] = unseen_airline(args.data, vader, fast, best)
    speed_texts = corpora["tweets"].texts + corpora["amazon"].texts + corpora["clothing"].texts[:5000]
    results["speed"] = speed(vader, fast, best, speed_texts)

    table(
        "Tweets and Amazon sentences, folds 1-4 (Pearson r with the human mean; weighted 3-class F1)",
        ["set", "system", "r", "F1"],
        rows_int,
    )
    header = ["set", "system", "r", "F1"]
    table("Same, all rows (VADER's published setting; fast is not trained)", header, rows_all)
    table(
        "Clothing reviews, folds 1-4 (gold from Rating; each back-end's label)",
        ["system", "macro-F1", "acc"],
        rows_cls,
    )
    air = results["airline_smoke"]
    table(
        f"Airline smoke set ({air['texts']} hand-made tweets; not a claim)",
        ["system", "macro-F1", "acc"],
        [[k, v["macro_f1"], v["accuracy"]] for k, v in air.items() if isinstance(v, dict)],
    )
    un = results["unseen_airline_reviews"]
    table(
        f"Unseen domain: Skytrax airline seat reviews ({un['texts']}; gold from overall_rating)",
        ["system", "macro-F1", "acc"],
        [[k, v["macro_f1"], v["accuracy"]] for k, v in un.items() if isinstance(v, dict)],
    )
    sp = results["speed"]
    table(
        f"Speed on the same {sp['texts']} texts (tweets, Amazon, 5,000 reviews; one thread)",
        ["system", "texts/s"],
        [["vader", sp["vader_per_s"]], ["fast", sp["fast_per_s"]], ["best", sp["best_per_s"]]],
    )
    print(f"fast / vader speed: {sp['fast_vs_vader']}x")
    results["targets"] = targets(results)
    table("Targets", ["target", "met"], [[t["target"], t["met"]] for t in results["targets"]])
    print("\nProtocol: " + results["protocol"])
    results["seconds"] = round(time.perf_counter() - started)
    out = HERE / "results" / "sentiment.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)} in {results['seconds']} s")
    return results


def unseen_airline(data: Path, vader: Any, fast: Any, best: Any) -> dict[str, Any]:
    """Airline reviews none of the back-ends was built on (the issue's "domain you have not seen")."""
    import csv

    texts, gold = [], []
    with open(data / "skytrax_seat_reviews.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            rating, text = (row.get("overall_rating") or "").strip(), (row.get("content") or "").strip()
            if not rating or not text:
                continue
            r = float(rating)
            gold.append(0 if r <= 4 else 1 if r <= 6 else 2)
            texts.append(text)
    g = np.array(gold)
    v = np.array([vader.polarity_scores(t)["compound"] for t in texts])
    return {
        "texts": len(texts),
        "gold": "overall_rating 1-4 negative, 5-6 neutral, 7-10 positive",
        "class_counts": [int((g == c).sum()) for c in range(3)],
        "vader": class_metrics(g, classes(v)),
        "fast": class_metrics(g, backend_scores(fast, texts)[1]),
        "best (shipped model)": class_metrics(g, backend_scores(best, texts)[1]),
    }


def _means(data: Path, name: str) -> list[str]:
    with open(data / f"vader_{name}_groundtruth.tsv", encoding="utf-8") as f:
        return [line.split("\t", 2)[1] for line in f if line.count("\t") >= 2]


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    sets = results["sets"]
    for name in ("tweets", "amazon"):
        for system in ("fast", "best"):
            if system in sets[name]:
                for metric in ("pearson_r", "f1_weighted"):
                    mine, ref = sets[name][system][metric], sets[name]["vader"][metric]
                    target = f"{name}: {system} {metric} >= VADER ({mine} vs {ref})"
                    out.append({"target": target, "met": mine >= ref})
    clothing = sets["clothing"]
    for system in ("fast", "best"):
        if system in clothing:
            mine, ref = clothing[system]["macro_f1"], clothing["vader"]["macro_f1"]
            target = f"clothing: {system} macro-F1 >= VADER + 0.10 ({mine} vs {ref})"
            out.append({"target": target, "met": mine >= ref + 0.10})
    sp = results["speed"]
    ratio = sp["fast_vs_vader"]
    out.append({"target": f"fast at least as fast as VADER ({ratio}x)", "met": ratio >= 1})
    return out


if __name__ == "__main__":
    main()
