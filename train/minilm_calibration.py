"""Write the fixed calibration texts of the int8 MiniLM ("minilm-int8", themes/minilm_onnx.py).

    .venv-eval/bin/python train/minilm_calibration.py [--n 128] [--seed 2027]

Static int8 quantisation fixes each activation's scale once, from the range the float32 model shows
on these texts; the scales are then the same for every text and batch. The list is committed
(src/cxchange/understand/themes/data/minilm_calibration.txt, one text a line) so that every build
calibrates on the same texts, and it ships with the package (a user's build needs no eval data).

Sources: tuning material only, never a held-out set (banking77, cfpb): --n short comments from the
demo generator at --seed (not the eval demo's seed 42, so the demo comments scored later are not the
calibration lines themselves, though they come from the same templates), and --n clothing reviews
(CC0) drawn at --seed from the reviews OUTSIDE eval/themes.py's fixed 5,000-review sample. Together
they span one-word comments to reviews longer than the 128 word pieces MiniLM reads.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "eval"))
import _themes_data as data  # noqa: E402

from cxchange.understand.themes.minilm_onnx import CALIBRATION  # noqa: E402


def one_line(text: str) -> str:
    return " ".join(text.split())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--n", type=int, default=128)
    ap.add_argument("--seed", type=int, default=2027)
    args = ap.parse_args()
    from cxchange.demo import generate

    demo = generate(args.n * 4, seed=args.seed).planted.filter(pl.col("text").is_not_null())
    short = sorted({one_line(t) for t in demo["text"].to_list() if t and t.strip()})
    rng = random.Random(args.seed)
    short = rng.sample(short, min(args.n, len(short)))

    reviews = pl.read_csv(data.SHARED / "womens_clothing_ecommerce_reviews.csv", infer_schema_length=0)
    reviews = reviews.filter(pl.col("Review Text").is_not_null() & pl.col("Department Name").is_not_null())
    scored = set(data.clothing().texts)
    outside = sorted({one_line(t) for t in reviews["Review Text"].to_list() if t not in scored})
    long = rng.sample(outside, args.n)

    lines = [t for t in short + long if t]
    CALIBRATION.write_text("\n".join(lines) + "\n", encoding="utf-8")
    words = sorted(len(t.split()) for t in lines)
    print(f"wrote {CALIBRATION}: {len(lines)} texts, {words[0]}-{words[-1]} words")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
