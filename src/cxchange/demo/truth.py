"""The planted truths of the demo company in closed form (why: exact and seed-free), as ``TRUTH``.

Expected NPS per region and period, the pilot's difference-in-differences and each theme's effect on
the 0–10 answer are computed from the score model's distributions, not from a sample; every float is
rounded to 3 decimals so TRUTH is plain JSON-able data that tests and the evaluation compare against.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import numpy as np
from scipy.special import ndtr

from cxchange.demo.company import (
    BASE,
    CHANNELS,
    CONTROL_UNIT,
    DEMO_END,
    DEMO_START,
    EMERGING_EFFECT,
    EMERGING_FINAL_SHARE,
    EMERGING_START,
    EMERGING_THEME,
    N_DAYS,
    NOISE_SD,
    PII_RATE,
    PILOT_LIFT,
    PILOT_START,
    PILOT_UNIT,
    PILOT_WAIT_NEG_SHARE,
    PRAISE_PROB,
    REGION_EFFECT,
    SEASON_MONTHS,
    SEASON_SHIFT,
    SEGMENTS,
    SOURCE_OFFSET,
    SOURCES,
    STORE_EFFECT_SD,
    STRUCTURE_SEED,
    TEXT_RATE,
    THEME_SOURCE_MULT,
    THEMES,
    TYPO_COMMENT_RATE,
    TYPO_WORD_RATE,
    VOLUME_GROWTH,
    WEEKEND_VOLUME,
    days,
    phrase_bank,
    split_rows,
    structure,
)


def _shift_dist(
    src: int = 0, wait_neg: float | None = None, exclude: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Exact distribution of the summed theme effects on a 0.1-point grid."""
    lo, probs = 0, np.array([1.0])
    for t, (rate, neg, en, ep) in THEMES.items():
        if t == exclude:
            continue
        neg = wait_neg if (t == "waiting_time" and wait_neg is not None) else neg
        r = rate * THEME_SOURCE_MULT[t][src]
        a, b = round(en * 10), round(ep * 10)
        kern = np.zeros(b - a + 1)
        kern[0], kern[-a], kern[-1] = r * neg, 1 - r, r * (1 - neg)
        probs, lo = np.convolve(probs, kern), lo + a
    vals = (lo + np.arange(len(probs))) / 10
    keep = probs > 1e-14
    return vals[keep], probs[keep]


def _population(region: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Latent offsets (region + store + segment) and their weights for one region or all."""
    s = structure()
    stores = np.arange(len(s.store_codes)) if region is None else np.nonzero(s.store_region == region)[0]
    seg_p = np.array([v[0] for v in SEGMENTS.values()])
    seg_e = np.array([v[1] for v in SEGMENTS.values()])
    reg_e = np.array([REGION_EFFECT[s.region_codes[r]] for r in s.store_region[stores]])
    x = (reg_e + s.store_effect[stores])[:, None] + seg_e[None, :]
    w = s.store_prob[stores][:, None] * seg_p[None, :]
    return x.ravel(), w.ravel() / w.sum()


def _nps_of(x: np.ndarray, w: np.ndarray, dist: tuple[np.ndarray, np.ndarray]) -> float:
    z = BASE + x[:, None] + dist[0][None, :]
    per = ndtr((z - 8.5) / NOISE_SD) - ndtr((6.5 - z) / NOISE_SD)
    return 100.0 * float(w @ per @ dist[1])


def _expected_nps(region: int, lo: date, hi: date) -> float:
    """Expected survey NPS of a region over [lo, hi], volume-weighted by day."""
    d, s = days(), structure()
    x, w = _population(region)
    in_pilot = s.region_codes[region] == PILOT_UNIT
    groups: dict[tuple[float, float, bool], float] = defaultdict(float)
    for i in range((lo - DEMO_START).days, (hi - DEMO_START).days + 1):
        groups[(float(d["season"][i]), float(d["em"][i]), bool(in_pilot and d["pilot"][i]))] += d["weight"][i]
    normal, piloted = _shift_dist(), _shift_dist(wait_neg=PILOT_WAIT_NEG_SHARE)
    acc = 0.0
    for (season, em, pilot), wt in groups.items():
        dist, xs = (piloted, x + season + PILOT_LIFT) if pilot else (normal, x + season)
        v = (1 - em) * _nps_of(xs, w, dist)
        if em:
            v += em * _nps_of(xs + EMERGING_EFFECT, w, dist)
        acc += wt * v
    return acc / sum(groups.values())


def _answer_effects(theme: str) -> tuple[float, float]:
    """Expected change of the rounded, clipped 0–10 answer for a negative / positive mention."""
    x, w = _population(None)
    vals, probs = _shift_dist(exclude=theme)
    k = np.arange(1, 11) - 0.5

    def mean_answer(extra: float) -> float:
        z = BASE + x[:, None] + vals[None, :] + extra
        return float(w @ ndtr((z[..., None] - k) / NOISE_SD).sum(-1) @ probs)

    base = mean_answer(0.0)
    return mean_answer(THEMES[theme][2]) - base, mean_answer(THEMES[theme][3]) - base


def _build_truth() -> dict[str, Any]:
    """Everything planted, as plain JSON-able data (floats rounded to 3 decimals)."""
    s, bank, d = structure(), phrase_bank(), days()

    def r3(v: Any) -> float:
        return round(float(v), 3)

    themes = {}
    for t, (rate, neg, en, ep) in THEMES.items():
        an, ap, tb = *_answer_effects(t), bank["themes"][t]
        themes[t] = {
            "label": tb["label"],
            "keywords": list(tb["keywords"]),
            "mention_rate": rate,
            "negative_share": neg,
            "effect_negative": en,
            "effect_positive": ep,
            "answer_effect_negative": r3(an),
            "answer_effect_positive": r3(ap),
            "mention_rate_by_source": {
                x[0]: r3(rate * m) for x, m in zip(SOURCES, THEME_SOURCE_MULT[t], strict=True)
            },
            "n_phrasings": {"negative": len(tb["negative"]), "positive": len(tb["positive"])},
        }
    pi, ci = s.region_codes.index(PILOT_UNIT), s.region_codes.index(CONTROL_UNIT)
    before, after = (DEMO_START, PILOT_START - timedelta(days=1)), (PILOT_START, DEMO_END)
    nps = {
        "pilot_before": r3(_expected_nps(pi, *before)),
        "pilot_after": r3(_expected_nps(pi, *after)),
        "control_before": r3(_expected_nps(ci, *before)),
        "control_after": r3(_expected_nps(ci, *after)),
    }
    by_region = {c: r3(_expected_nps(i, DEMO_START, DEMO_END)) for i, c in enumerate(s.region_codes)}
    rshare = {c: r3(s.store_prob[s.store_region == i].sum()) for i, c in enumerate(s.region_codes)}
    em_start, last7, em_bank = (EMERGING_START - DEMO_START).days, slice(N_DAYS - 7, N_DAYS), bank["emerging"]
    rate, neg, *_ = THEMES["staff_friendliness"]
    praised = []
    for p in s.praised:
        sp = s.store_prob[p["store_idx"]]
        comments = [n * sp * tr for n, tr in zip(split_rows(20_000), TEXT_RATE, strict=True)]
        named = sum(
            c * rate * m * (1 - neg) * PRAISE_PROB
            for c, m in zip(comments, THEME_SOURCE_MULT["staff_friendliness"], strict=True)
        )
        praised.append(
            {k: p[k] for k in ("name", "first_name", "email", "unit", "unit_name", "region")}
            | {"share_of_unit_comments": r3(named / sum(comments)), "expected_count_per_20k_rows": r3(named)}
        )
    stores = {i: [c for c, r in zip(s.store_codes, s.store_region, strict=True) if r == i] for i in (pi, ci)}
    span = N_DAYS - em_start
    return {
        "company": {
            "name": bank["company"]["name"],
            "domain": bank["company"]["domain"],
            "structure_seed": STRUCTURE_SEED,
            "regions": dict(zip(s.region_codes, s.region_names, strict=True)),
            "n_stores": len(s.store_codes),
            "n_people": len(s.people),
            "region_volume_share": rshare,
        },
        "period": {"start": DEMO_START.isoformat(), "end": DEMO_END.isoformat(), "days": N_DAYS},
        "sources": {
            n: {
                "kind": k,
                "share": sh,
                "text_rate": TEXT_RATE[i],
                "latent_offset": SOURCE_OFFSET[i],
                "channels": CHANNELS[i],
            }
            for i, (n, k, sh, _) in enumerate(SOURCES)
        },
        "score_model": {
            "base": BASE,
            "noise_sd": NOISE_SD,
            "store_effect_sd": STORE_EFFECT_SD,
            "region_effects": REGION_EFFECT,
            "segment_effects": {k: v[1] for k, v in SEGMENTS.items()},
            "segment_shares": {k: v[0] for k, v in SEGMENTS.items()},
            "product_effects": "none",
            "channel_effects": "none",
            "nps": "clip(round(latent), 0, 10)",
            "csat": "clip(round(1 + 0.4*latent + N(0,0.35)), 1, 5)",
            "ces": "clip(round(0.8 + 0.62*latent + N(0,0.6)), 1, 7); 7 = very easy (higher is better)",
            "rating": "clip(round(1 + 0.42*latent + N(0,0.45)), 1, 5)",
        },
        "themes": themes,
        "theme_ranking": {
            "most_negative": sorted(THEMES, key=lambda t: THEMES[t][2]),
            "most_positive": sorted(THEMES, key=lambda t: -THEMES[t][3]),
        },
        "emerging": {
            "theme": EMERGING_THEME,
            "label": em_bank[EMERGING_THEME]["label"],
            "start": EMERGING_START.isoformat(),
            "keywords": list(em_bank[EMERGING_THEME]["keywords"]),
            "n_phrasings": len(em_bank[EMERGING_THEME]["phrases"]),
            "share_before": 0.0,
            "share_on_start": r3(d["em"][em_start]),
            "share_on_end": EMERGING_FINAL_SHARE,
            "schedule": f"linear: share(day k since start, k=0..{span - 1}) = "
            f"{EMERGING_FINAL_SHARE} * (k + 1) / {span}",
            "expected_share_final_week": r3(d["em"][last7] @ d["weight"][last7] / d["weight"][last7].sum()),
            "effect": EMERGING_EFFECT,
            "sources": [x[0] for x in SOURCES],
        },
        "pilot": {
            "initiative": "Queue-busting: extra staff at peak hours and call-backs instead of hold queues",
            "pilot_unit": PILOT_UNIT,
            "control_unit": CONTROL_UNIT,
            "pilot_region_name": s.region_names[pi],
            "control_region_name": s.region_names[ci],
            "pilot_stores": stores[pi],
            "control_stores": stores[ci],
            "start": PILOT_START.isoformat(),
            "mechanism": {
                "waiting_time_negative_share_before": THEMES["waiting_time"][1],
                "waiting_time_negative_share_after": PILOT_WAIT_NEG_SHARE,
                "latent_lift": PILOT_LIFT,
                "applies_to": "all sources, pilot stores, on/after start",
            },
            "expected_nps": nps,
            "expected_pilot_change": r3(nps["pilot_after"] - nps["pilot_before"]),
            "expected_control_change": r3(nps["control_after"] - nps["control_before"]),
            "expected_did": r3(
                nps["pilot_after"] - nps["pilot_before"] - nps["control_after"] + nps["control_before"]
            ),
            "nps_scale": "-100..100 on survey rows; before = [period start, start), after = [start, end]",
        },
        "praised_staff": praised,
        "seasonality": {
            "latent_shift": SEASON_SHIFT,
            "months": list(SEASON_MONTHS),
            "volume_growth_over_period": VOLUME_GROWTH,
            "weekend_volume_factor": WEEKEND_VOLUME,
        },
        "nps": {
            "overall_expected": r3(sum(by_region[c] * rshare[c] for c in by_region) / sum(rshare.values())),
            "by_region_expected": by_region,
        },
        "pii": {
            "rate_of_texts": PII_RATE,
            "kinds": ["email", "phone", "card"],
            "phone_formats": ["07700 900ddd", "+44 7700 900ddd", "0161 496 0ddd"],
            "card": "16 digits starting 4, Luhn-valid, grouped by spaces, dashes or none",
        },
        "typos": {"comment_rate": TYPO_COMMENT_RATE, "word_rate": TYPO_WORD_RATE},
    }


TRUTH: dict[str, Any] = _build_truth()
