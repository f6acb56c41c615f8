"""Why CFPB's primary-theme NMI fell when the saved TF-IDF matcher stopped drifting (analysis, not tuning).

    .venv-eval/bin/python eval/themes_matcher_drift.py [--seeds 0,1,2]

eval/themes.py's run after balanced class weights (eval/themes_fidelity.py chose them on tuning sets)
scored CFPB's primary theme at NMI 0.188 against the Product, where it had been 0.225. This script
measures, on the sets with labels that take the TF-IDF path (CFPB, held out; clothing, tuning), the
saved matcher as `analyze` uses it (fitted on every comment discovery labelled, applied to all of them)
with the former unweighted regressions and with the shipped balanced ones: agreement of its primary
theme with discovery's, the entropy of the primary themes against discovery's, the largest theme's
share, and NMI against the labels for the matcher and for discovery itself. Nothing was chosen from
it: the setting was fixed before CFPB was run.
Results: eval/results/themes_matcher_drift.json (+ .md), written by this run.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _themes_data import cfpb, clothing
from themes_fidelity import _fit_rest, _ms, seeds_and_out

from cxchange.understand.themes import relevance
from cxchange.understand.themes.discover import discover_themes


def _entropy(v: np.ndarray) -> float:
    p = np.array(list(Counter(v.tolist()).values()), float) / len(v)
    return float(-(p * np.log(p)).sum())


def measure(texts: list[str], labels: np.ndarray, seed: int) -> dict[str, dict[str, float]]:
    from sklearn.metrics import normalized_mutual_info_score as nmi

    shipped = relevance._fit_rest
    out = {}
    for name, fit in (
        ("unweighted (before)", _fit_rest(relevance.LR_C, False)),
        ("balanced (shipped)", shipped),
    ):
        relevance._fit_rest = fit
        try:
            found = discover_themes(texts, embedder="tfidf", seed=seed, with_model=True)
        finally:
            relevance._fit_rest = shipped
        got = found.model.assign(texts)
        prim = np.array([int(found.model.classes[g[0][0]]) if g else -1 for g in got])
        out[name] = {
            "agreement_with_discovery": float(np.mean(prim == found.labels)),
            "entropy": _entropy(prim),
            "entropy_discovery": _entropy(found.labels),
            "largest_share": Counter(prim.tolist()).most_common(1)[0][1] / len(prim),
            "nmi_labels": float(nmi(labels, prim)),
            "nmi_labels_discovery": float(nmi(labels, found.labels)),
        }
    return out


def main() -> int:
    seeds, out = seeds_and_out("eval/results/themes_matcher_drift.json")
    t0, load0 = time.time(), os.getloadavg()[0]
    wear = clothing()
    sets = {"cfpb (held-out)": cfpb(), "clothing (tuning)": wear}
    result: dict = {"seeds": seeds, "sets": {}}
    for name, ds in sets.items():
        runs = [measure(ds.texts, ds.scorings[0].labels, s) for s in seeds]
        result["sets"][name] = {
            variant: {k: [r[variant][k] for r in runs] for k in runs[0][variant]} for variant in runs[0]
        }
    result["seconds"], result["load"] = (
        round(time.time() - t0, 1),
        [round(load0, 2), round(os.getloadavg()[0], 2)],
    )
    Path(out).write_text(json.dumps(result, indent=1) + "\n")
    lines = [
        "# The saved TF-IDF matcher's drift and label NMI (written by eval/themes_matcher_drift.py)",
        "",
        f"{result['seconds']} s, load {result['load'][0]} -> {result['load'][1]}; mean ± sd over seeds "
        f"{','.join(map(str, seeds))}. The matcher as `analyze` uses it: fitted on every comment discovery "
        "labelled.",
        "",
        "| set | matcher | agreement with discovery | entropy (matcher / discovery) | largest theme | "
        "NMI vs labels (matcher / discovery) |",
        "|---|---|---:|---:|---:|---:|",
    ]

    for name, variants in result["sets"].items():
        for variant, m in variants.items():
            lines.append(
                f"| {name} | {variant} | {_ms(m['agreement_with_discovery'])} | {_ms(m['entropy'])} / "
                f"{_ms(m['entropy_discovery'])} | {_ms(m['largest_share'])} | {_ms(m['nmi_labels'])} / "
                f"{_ms(m['nmi_labels_discovery'])} |"
            )
    Path(out).with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
