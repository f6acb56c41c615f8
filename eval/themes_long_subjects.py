"""Why Blitzer and clothing pull the subject lift apart: what the primary themes are, on the TUNING sets only.

    .venv-eval/bin/python eval/themes_long_subjects.py [--sets blitzer,clothing] [--seeds 0] [--out FILE]

A description, not a choice: nothing here sets a default. Per tuning set (Blitzer, label `domain`;
clothing, label Class Name; CFPB and banking77 are refused) and per SUBJECT_LIFT in {0, 0.25, 1} at each
FINE_FLOOR in {0.5, 1.0} (matcher "projection", embedder "tfidf", seed 0), the saved matcher's primary
theme per comment, and:
* NMI and its two halves (sklearn's homogeneity: each theme holds one label; completeness: each label
  sits in one theme; arithmetic NMI is their harmonic mean);
* leaf themes; the share of comments in a theme whose commonest label holds at least 60 % of it;
* the share of comments whose primary theme's name ends in one of the corpus's 11 commonest subject
  nouns (the rule's k_top), i.e. themes named after what the comments open on;
* per theme: name, size, commonest label and its share (the largest 25 themes).
Per set, label-free: the subject concentration (discover.subject_concentration, the rule's
statistic), the 15 commonest subject nouns, the median words per comment.
Protocol: descriptive only; run once after eval/themes_long_margin.py chose its setting.
Also printed: os.getloadavg() at the start and end.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.metrics import homogeneity_completeness_v_measure

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _themes_data as data
from themes_long_margin import TUNING

from cxchange.understand.themes import discover
from cxchange.understand.themes.discover import discover_themes, subject_concentration
from cxchange.understand.themes.normalise import corpus_noise, normalise
from cxchange.understand.themes.text import find_subjects, fold_map, tokenise

ROOT = Path(__file__).resolve().parents[1]
K_TOP = 11  # discovery's top-level content slots at the default 12 themes


def subjects_of(texts: list[str]) -> list[str | None]:
    noise = corpus_noise(texts)
    parsed = [tokenise(normalise(t, noise)) for t in texts]
    tokens, heads = [p[0] for p in parsed], [p[1] for p in parsed]
    fold = fold_map(Counter(w for toks in tokens for w in toks if w is not None))
    return find_subjects(tokens, heads, fold)[0]


def describe_run(ds: data.EvalSet, seed: int, top_subjects: set[str]) -> dict:
    labels = ds.scorings[0].labels
    found = discover_themes(ds.texts, embedder="tfidf", seed=seed, with_model=True)
    first = data.primary(found, ds.texts)
    h, c, v = homogeneity_completeness_v_measure(labels, first)
    themes, pure, by_subject = [], 0, 0
    for t, size in Counter(first.tolist()).most_common():
        name = found.themes[t].name if t >= 0 else "(none)"
        label, count = Counter(labels[first == t].tolist()).most_common(1)[0]
        pure += size if count >= 0.6 * size else 0
        by_subject += size if name.lower().split()[-1] in top_subjects else 0
        themes.append({"name": name, "size": size, "label": label, "label_share": round(count / size, 3)})
    n = len(first)
    return {
        "nmi": round(float(v), 4),
        "homogeneity": round(float(h), 4),
        "completeness": round(float(c), 4),
        "leaves": len(set(found.labels.tolist()) - {-1}),
        "share_in_pure_themes": round(pure / n, 4),
        "share_in_subject_named_themes": round(by_subject / n, 4),
        "themes": themes[:25],
    }


def main() -> int:
    default_out = ROOT / "eval" / "results" / "themes_long_subjects.json"
    if (parsed := data.tuning_args(__doc__.splitlines()[0], TUNING, default_out)) is None:
        return 1
    sets, seeds, out = parsed
    load_start = [round(x, 2) for x in os.getloadavg()]
    saved = (discover.SUBJECT_LIFT, discover.FINE_FLOOR, discover.SUBJECT_SHARE_MIN)
    body: dict = {}
    try:
        discover.SUBJECT_SHARE_MIN = None
        for name, ds in sets.items():
            subjects = subjects_of(ds.texts)
            common = Counter(s for s in subjects if s is not None).most_common(15)
            top = {w for w, _ in common[:K_TOP]}
            entry: dict = {
                "median_words": float(np.median([len(t.split()) for t in ds.texts])),
                "labels": len(set(ds.scorings[0].labels.tolist())),
                "subject_concentration": round(subject_concentration(subjects, K_TOP), 4),
                "commonest_subjects": common,
                "runs": {},
            }
            for floor in (0.5, 1.0):
                for lift in (0.0, 0.25, 1.0):
                    discover.SUBJECT_LIFT, discover.FINE_FLOOR = lift, floor
                    run = describe_run(ds, seeds[0], top)
                    entry["runs"][f"lift {lift} floor {floor}"] = run
                    print(name, lift, floor, {k: v for k, v in run.items() if k != "themes"}, flush=True)
            body[name] = entry
    finally:
        discover.SUBJECT_LIFT, discover.FINE_FLOOR, discover.SUBJECT_SHARE_MIN = saved
    data.write_tuning(out, __doc__, seeds[:1], body, loadavg_start=load_start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
