"""Issue 15's speed lever on short requests: what a cheaper MiniLM costs in themes, on tuning sets only.

    PYTHONPATH=src .venv-eval/bin/python eval/themes_speed_levers.py --variants DIR
        [--candidates float32,int8,layers3] [--sets demo,banking77_train] [--seeds 0,1,2] [--out FILE]

Why: bench/themes_speed_bound.py measured that one float32 MiniLM pass over banking77_train, plus the
two commands' start-up, already costs more than BERTopic's time / 5, so no pipeline around that
encoder reaches issue 15's 5x; the only lever left is a cheaper encoder. This script sizes the quality
side of that lever. It ships nothing: `adaptive` keeps "minilm-onnx" (float32) whatever it prints.

Protocol, fixed before any number of it was looked at (2026-12-07, branch i15speed):

* candidates, each an ONNX file given to the shipped "minilm-onnx" path through CXCHANGE_MINILM_ONNX
  (so grouping, merge rule ("z", 3.0), fine size 30, matcher and vector reuse are exactly the
  shipped ones): ``float32`` (the shipped file: the control, in the same run), ``int8`` (its static
  int8 copy, minilm_onnx.int8_path()), ``layers<k>`` (the same network cut to its first k of 6
  transformer layers, ``DIR/minilm_l<k>.onnx``, built by bench/themes_speed_bound.py /
  minilm_onnx.build(path, layers=k));
* sets: demo and banking77_train (tuning sets; banking77's test split and cfpb are never run here);
  seeds 0, 1, 2; per seed every candidate's session in turn (interleaved, so all meet similar load),
  exactly eval/themes.py's run_ours (fresh SQLite, import untimed, discover --save + analyze timed,
  primary theme from `feedback --format json`); os.getloadavg() before each session;
* reported per candidate and set: primary-theme NMI (mean +- sd), median themes per comment,
  unassigned share, session seconds (mean) and its ratio to float32's in the same run;
* criterion, stated now: a candidate is a lever worth proposing only if its mean NMI is at most
  0.01 below float32's on each of the two sets (the tolerance the int8 rule used,
  minilm_onnx.py) and median themes <= 3 and unassigned <= 15 % hold. Passing proposes it for a
  held-out run by the lead; it does not change the default.

Results: eval/results/themes_speed_levers.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import themes as ev  # eval/themes.py: run_ours, nmi, mean_sd, SETS

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE = 0.01


def files(folder: Path, names: list[str]) -> dict[str, Path]:
    from cxchange.understand.themes.minilm_onnx import int8_path, onnx_path

    out = {}
    for name in names:
        if name == "float32":
            out[name] = onnx_path()
        elif name == "int8":
            out[name] = int8_path()
        elif name.startswith("layers"):
            out[name] = folder / f"minilm_l{int(name[6:])}.onnx"
        else:
            raise SystemExit(f"unknown candidate {name!r}")
        if not out[name].is_file():
            raise SystemExit(f"{name}: no file {out[name]} (bench/themes_speed_bound.py builds layer cuts)")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=Path, required=True)
    parser.add_argument("--candidates", default="float32,int8,layers3")
    parser.add_argument("--sets", default="demo,banking77_train")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--out", type=Path, default=ROOT / "eval" / "results" / "themes_speed_levers.json")
    args = parser.parse_args()
    names = [c for c in args.candidates.split(",") if c]
    if "float32" not in names:
        names.insert(0, "float32")
    paths = files(args.variants, names)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    sets = [s for s in args.sets.split(",") if s]
    if {"banking77", "cfpb"} & set(sets):
        raise SystemExit("held-out sets are not run here")
    started = time.time()
    results: dict = {}
    loads: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for set_name in sets:
            ds = ev.SETS[set_name]()
            runs: dict[str, list[dict]] = {n: [] for n in names}
            for seed in seeds:
                for n in names:
                    os.environ["CXCHANGE_MINILM_ONNX"] = str(paths[n])
                    loads.append({"set": set_name, "seed": seed, "candidate": n,
                                  "loadavg": [round(x, 2) for x in os.getloadavg()]})  # fmt: skip
                    print(f"  {set_name}: {n}, seed {seed} ...", flush=True)
                    runs[n].append(ev.run_ours(ds.texts, seed, Path(tmp)))
            os.environ.pop("CXCHANGE_MINILM_ONNX", None)
            first = ds.scorings[0]
            per: dict = {}
            for n in names:
                r = runs[n]
                per[n] = {
                    "nmi": ev.mean_sd([ev.nmi(first.labels, x["labels"], first.rows) for x in r]),
                    "median_themes": ev.mean_sd([float(np.median(x["n_themes"])) for x in r], 2),
                    "unassigned_share": ev.mean_sd([float((x["labels"] == -1).mean()) for x in r]),
                    "seconds": ev.mean_sd([x["seconds"] for x in r], 2),
                    "themes": [x["themes"] for x in r],
                    "embedder": sorted({x["embedder"] for x in r}),
                }
            base = per["float32"]
            for n in names:
                p = per[n]
                p["nmi_drop_vs_float32"] = round(base["nmi"]["mean"] - p["nmi"]["mean"], 4)
                p["speed_vs_float32"] = round(base["seconds"]["mean"] / p["seconds"]["mean"], 2)
            results[set_name] = {"scoring": first.name, "texts": len(ds.texts), "candidates": per}
    verdict = {
        n: all(
            results[s]["candidates"][n]["nmi_drop_vs_float32"] <= TOLERANCE
            and results[s]["candidates"][n]["median_themes"]["mean"] <= 3
            and results[s]["candidates"][n]["unassigned_share"]["mean"] <= 0.15
            for s in sets
        )
        for n in names
        if n != "float32"
    }
    meta = {
        "command": "eval/themes_speed_levers.py " + " ".join(sys.argv[1:]),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "wall_minutes": round((time.time() - started) / 60, 1),
        "files": {n: str(p) for n, p in paths.items()},
        "seeds": seeds,
        "criterion": f"NMI drop vs float32 <= {TOLERANCE} on every set, median themes <= 3, "
        "unassigned <= 15 %",
        "note": "shared 2-core machine, other helpers' jobs running: see loadavg",
        "loadavg": loads,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    out = {"meta": meta, "results": results, "passes_criterion": verdict}
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    for s in sets:
        print(f"{s}:")
        for n, p in results[s]["candidates"].items():
            print(
                f"  {n:9} NMI {p['nmi']['mean']:.3f} ± {p['nmi']['sd']:.3f}"
                f" (drop {p['nmi_drop_vs_float32']:+.3f})"
                f"  med {p['median_themes']['mean']:.1f}  unassigned {p['unassigned_share']['mean']:.1%}"
                f"  {p['seconds']['mean']:.1f} s ({p['speed_vs_float32']:.2f}x float32)"
            )
    print(f"passes criterion: {verdict}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
