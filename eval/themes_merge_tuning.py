"""How fine MiniLM clusters merge into themes (the number of themes), on the TUNING sets only.

    .venv-eval/bin/python eval/themes_merge_tuning.py [--sets demo,banking77_train] [--seeds 0,1,2]
        [--out FILE] [--cache DIR]

Question (issue 15's NMI target): minilm-onnx merges fine k-means clusters whose centred centroids
have cosine >= 0.4 (embedded.MERGE_RULE_BY_EMBEDDER). That cut was chosen on the demo alone, which is
generated from our own keywords (9 planted themes) - "the demo is not evidence" - and it gives
banking77 about half as many themes as BERTopic. (eval/themes_minilm_tuning.py swept
embedded.EMB_MERGE_SIM, but minilm-onnx's own entry overrode it, so its three rows ran one setting;
that script now sets the per-embedder rule.)

Protocol (fixed and committed 2026-12-07 before any run of this script; no number of any candidate
below had been seen):
* Tuning sets: demo (generate(5000, seed=42), first scoring) and banking77_train (banking77's train
  split, disjoint from the test split: a fixed sample of 3,080 requests, seed 0, the test split's size;
  scored against its 77 intents). clothing is not swept: `adaptive` sends long corpora to tfidf, where
  no merge rule applies (eval/themes.py's tuning run reports it unchanged). Held out: banking77 (test
  split) and cfpb; this script refuses them, and eval/themes.py runs them once, afterwards.
* Embedder: minilm-onnx (adaptive's short-text choice). Embeddings are computed once per set and kept
  on disk (--cache; float32 ONNX gives each text the same row in any batch, so a cached row is the row
  discovery would compute); the fine k-means is cached per (vectors, k, seed). Everything else runs as
  `discover_themes(..., with_model=True)` does, at CLI defaults.
* Candidates (embedded.merge_groups): constant cuts ("sim", c) for c in 0.3, 0.35, 0.4 (current),
  0.45, 0.5, 0.6, 0.7 and 1.01 (no merge: the fine clusters as they are); relative cuts ("z", z) for
  z in 1, 1.5, 2, 2.5, 3 (mean + z sd of the corpus's centroid similarities); ("silhouette", c) for
  c in 0.6, 0.9 (the cut with the best text-level silhouette among MERGE_GRID up to c).
* Score: NMI of the saved matcher's primary theme (what `analyze` then `feedback` show) against the
  set's first scoring, seeds 0, 1, 2, mean ± sd; also unassigned share and theme counts.
* Choice (stated before the numbers): a candidate's regret on a set is (best mean NMI of any candidate
  on that set) - (its mean NMI); its score is the mean regret over demo and banking77_train, each set
  weighted equally (the generated demo no more than the real set). Candidates with > 15 % unassigned
  on any set are out. Among candidates whose score is within 0.005 of the best, an adaptive rule
  ("z" or "silhouette") is preferred over a constant (hidden sets from other domains will be checked,
  and a constant cut is a fit to these two); among those, the smallest score. The chosen rule becomes
  minilm-onnx's and minilm-int8's entry in embedded.MERGE_RULE_BY_EMBEDDER; nothing else changes.
Also printed: discovery's seconds (embeddings cached), os.getloadavg().
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _themes_data as data

from cxchange.understand.themes import embedded
from cxchange.understand.themes.minilm_onnx import OnnxMiniLMEmbedder

ROOT = Path(__file__).resolve().parents[1]
TUNING = {"demo": data.demo, "banking77_train": data.banking77_train}
CANDIDATES: list[tuple[str, float]] = (
    [("sim", c) for c in (0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 1.01)]
    + [("z", z) for z in (1.0, 1.5, 2.0, 2.5, 3.0)]
    + [("silhouette", c) for c in (0.6, 0.9)]
)
NEAR_BEST, MAX_UNASSIGNED = 0.005, 0.15


class DiskEmbed:
    """Per-string memo of an embedder's rows, kept in ``path`` (npz) between runs: every string is
    embedded once for all sets, seeds and candidates."""

    def __init__(self, embed: Callable[..., np.ndarray], path: Path) -> None:
        self.embed, self.path = embed, path
        self.rows: dict[str, np.ndarray] = {}
        if path.is_file():
            with np.load(path, allow_pickle=False) as z:
                self.rows = dict(zip(z["texts"].tolist(), z["vectors"], strict=True))

    def __get__(self, obj: object, owner: type | None = None) -> Callable[[Sequence[str]], np.ndarray]:
        def bound(texts: Sequence[str]) -> np.ndarray:
            todo = sorted({t for t in texts if t not in self.rows})
            if todo:
                for t, v in zip(todo, self.embed(obj, todo), strict=True):
                    self.rows[t] = v
                keys = list(self.rows)
                np.savez(self.path, texts=np.array(keys), vectors=np.stack([self.rows[k] for k in keys]))
            return np.stack([self.rows[t] for t in texts]).astype(np.float32)

        return bound


def regrets(rows: list[dict], sets: list[str]) -> tuple[float, list[dict]]:
    """Mark each row with its mean NMI regret over ``sets`` (equal weights) and whether it stays under
    MAX_UNASSIGNED on every set; returns the least regret of those eligible and the eligible rows
    within NEAR_BEST of it."""
    best = {n: max(r[n]["nmi"] for r in rows) for n in sets}
    for r in rows:
        r["regret"] = round(statistics.fmean(best[n] - r[n]["nmi"] for n in sets), 4)
        r["eligible"] = all(r[n]["unassigned"] <= MAX_UNASSIGNED for n in sets)
    ok = [r for r in rows if r["eligible"]]
    top = min(r["regret"] for r in ok)
    return top, [r for r in ok if r["regret"] <= top + NEAR_BEST]


def scored(row: dict, sets: dict[str, data.EvalSet], seeds: list[int]) -> dict:
    """``row`` with minilm-onnx discovery scored on every set at the current settings, and the load;
    printed as it is done."""
    for n, ds in sets.items():
        row[n] = data.score_discovery(ds, seeds, "minilm-onnx")
    row["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(row), flush=True)
    return row


def cells_of(r: dict, sets: list[str]) -> str:
    """One row's NMI and mean theme count per set, for the printed table."""
    return "  ".join(
        f"{n} {r[n]['nmi']:.3f}±{r[n]['sd']:.3f} ({statistics.fmean(r[n]['themes']):.0f})" for n in sets
    )


def cache_file() -> Path:
    """Where minilm-onnx's rows are kept between runs (THEMES_CACHE, default a folder in /tmp)."""
    cache = Path(os.environ.get("THEMES_CACHE", "/tmp/cxchange_themes_cache"))
    cache.mkdir(parents=True, exist_ok=True)
    return cache / f"minilm_{hashlib.sha256(b'minilm-onnx').hexdigest()[:8]}.npz"


def setup(doc: str, out_name: str) -> tuple[dict[str, data.EvalSet], list[int], Path] | None:
    """A minilm-onnx sweep's arguments (data.tuning_args over TUNING), with the disk cache of embeddings
    and the k-means cache installed; None when a held-out set was named."""
    parsed = data.tuning_args(doc.splitlines()[0], TUNING, ROOT / "eval" / "results" / out_name)
    if parsed is not None:
        OnnxMiniLMEmbedder.embed = DiskEmbed(OnnxMiniLMEmbedder.embed, cache_file())  # type: ignore[method-assign]
        embedded._kmeans = data.CachedKMeans(embedded._kmeans)
    return parsed


def main() -> int:
    parsed = setup(__doc__ or "", "themes_merge_tuning.json")
    if parsed is None:
        return 1
    sets, seeds, out = parsed
    cache = cache_file()
    saved = dict(embedded.MERGE_RULE_BY_EMBEDDER)
    rows = []
    for rule in CANDIDATES:
        embedded.MERGE_RULE_BY_EMBEDDER["minilm-onnx"] = rule
        row: dict = {"rule": list(rule)}
        rows.append(scored(row, sets, seeds))
    embedded.MERGE_RULE_BY_EMBEDDER.update(saved)

    top, near = regrets(rows, list(sets))
    adaptive = [r for r in near if r["rule"][0] != "sim"]
    chosen = min(adaptive or near, key=lambda r: r["regret"])
    decisions = {"merge_rule": chosen["rule"], "regret": chosen["regret"], "best_regret": top,
                 "near_best": [r["rule"] for r in near]}  # fmt: skip
    print("decisions:", json.dumps(decisions))
    for r in rows:
        cells = cells_of(r, list(sets))
        print(f"{r['rule']!s:24} {cells}  regret {r['regret']:.4f}")
    data.write_tuning(out, __doc__, seeds, {"rows": rows, "decisions": decisions}, cache=str(cache.parent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
