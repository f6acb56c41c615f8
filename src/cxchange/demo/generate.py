"""Seeded, realistic demo company for cxchange: pure data, no database.

Why: every stage (listen → measure → understand → decide → change → sustain) needs believable feedback
whose *answers are known*, so demos look real and tests can check that the analytics recover what was
planted. Feedback depends only on ``seed``; the company itself (units, people, praised staff) is fixed by
``STRUCTURE_SEED`` so that the module constant ``TRUTH`` can name it.

Score model: each row has a latent 0–10 satisfaction = BASE + region + store + segment + December dip
+ pilot lift + Σ theme effects (by polarity) + emerging-issue effect + source offset + N(0, NOISE_SD).
Survey NPS = clip(round(latent), 0, 10); ticket CSAT ≈ 1 + 0.4·latent (1–5) and CES ≈ 0.8 + 0.62·latent
(1–7, CES 2.0: 7 = very easy, higher is better); review rating ≈ 1 + 0.42·latent (1–5). Themes are drawn
before the score, so a comment's sentiment agrees with its score most of the time. Comment presence is
independent of the score (no selection bias). Comments are composed from the phrase banks in
``phrases.yaml`` (openers, clauses per theme and polarity, connectors, closers, emoji, typos).

Planted truths (all also in ``TRUTH`` as JSON-able data):

1. Themes (``TRUTH["themes"]``): eight themes, each mentioned by a known share of rows with a known
   negative share; a mention moves the latent 0–10 answer by ``effect_negative`` / ``effect_positive``
   (``answer_effect_*``: expected change of the clipped, rounded answer). waiting_time negative is the
   most damaging (−3.0), staff_friendliness positive the most helpful (+1.8).
2. Emerging issue (``TRUTH["emerging"]``): "app_login" (log-in failures and crashes after an app update)
   does not exist before DEMO_END − 20 days; its share of feedback then rises linearly to 18 % on DEMO_END
   (≈15 % over the final week); each mention moves the latent by −2.0.
3. Pilot (``TRUTH["pilot"]``): from DEMO_END − 180 days R-NORTH (queue-busting pilot) has its
   waiting_time negative share cut from 0.75 to 0.30 and its latent raised by PILOT_LIFT; R-SOUTH has the
   same baseline and is the control. Expected NPS before/after for both and the difference-in-differences
   (≈ +20 points) are computed in closed form from the model. Why this size: at the default 20,000 rows
   each region has only ~2,800 NPS answers (~750 after the start), so respondent noise alone puts the
   DiD's standard error near 4.8 points over the whole periods; +20 is found "improved" (CR2, 20 store
   clusters) on ~98 % of seeds, a +12 effect on only ~60 %.
4. Praised staff (``TRUTH["praised_staff"]``): four agents, one per region, named ("Priya at Kettlewick
   was brilliant") in 60 % of the positive staff_friendliness mentions of their own store's comments.
5. Seasonality (``TRUTH["seasonality"]``): latent −0.6 in December; volume grows 25 % over the two
   years and is 15 % higher at weekends.
6. Level (``TRUTH["nps"]``): survey NPS ≈ +20 overall; East above, West below, North = South before.

Also ~1 % of texts carry planted PII (email, UK drama-range phone, Luhn-valid card; ``TRUTH["pii"]``)
and ~10 % of comments contain typos.
"""

from __future__ import annotations

import itertools
import random
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import polars as pl
import yaml
from scipy.special import ndtr

DEMO_END: date = date(2026, 10, 31)
N_DAYS = 730
DEMO_START: date = DEMO_END - timedelta(days=N_DAYS - 1)
STRUCTURE_SEED = 2026
N_PEOPLE = 200
N_EXECS = 2

# (name, kind, share of rows, id prefix); text rate and latent offset per source in the same order.
SOURCES: tuple[tuple[str, str, float, str], ...] = (
    ("nps_survey", "survey", 0.5, "NPS"),
    ("support_tickets", "ticket", 0.3, "TCK"),
    ("public_reviews", "review", 0.2, "REV"),
)
TEXT_RATE = (0.65, 0.92, 1.0)
SOURCE_OFFSET = (0.0, -0.8, -0.5)

BASE = 8.9
NOISE_SD = 1.9
STORE_EFFECT_SD = 0.25
REGION_EFFECT = {"R-NORTH": 0.0, "R-SOUTH": 0.0, "R-EAST": 0.35, "R-WEST": -0.45}
REGION_SHARE = {"R-NORTH": 0.28, "R-SOUTH": 0.28, "R-EAST": 0.25, "R-WEST": 0.19}
# segment: (probability, latent effect, lognormal mu, sigma of annual spend in £)
SEGMENTS = {
    "consumer": (0.65, 0.0, 6.3, 0.6),
    "small business": (0.25, -0.4, 7.7, 0.7),
    "premium": (0.10, 0.5, 7.5, 0.5),
}
PRODUCTS = {"Mobile": 0.4, "Broadband": 0.3, "TV": 0.15, "Devices": 0.15}
CHANNELS: tuple[dict[str, float], ...] = (
    {"store": 0.45, "web": 0.2, "app": 0.2, "phone": 0.15},
    {"phone": 0.4, "chat": 0.3, "email": 0.25, "app": 0.05},
    {"web": 0.8, "app": 0.2},
)
# theme: (mention rate, negative share, latent effect if negative, if positive) — 0.1-point precision —
# and the mention-rate multiplier per source (survey, ticket, review): tickets are about problems.
THEMES: dict[str, tuple[float, float, float, float]] = {
    "waiting_time": (0.20, 0.75, -3.0, 0.8),
    "staff_friendliness": (0.22, 0.30, -1.6, 1.8),
    "product_quality": (0.15, 0.40, -1.8, 1.0),
    "price_value": (0.14, 0.55, -1.2, 0.7),
    "delivery": (0.10, 0.55, -2.2, 0.9),
    "billing": (0.08, 0.75, -2.5, 0.5),
    "app_website": (0.10, 0.50, -1.0, 0.6),
    "returns_refunds": (0.07, 0.60, -2.0, 0.8),
}
THEME_SOURCE_MULT: dict[str, tuple[float, float, float]] = {
    "waiting_time": (1.0, 1.3, 1.2),
    "staff_friendliness": (1.0, 0.6, 1.3),
    "product_quality": (1.0, 1.2, 0.8),
    "price_value": (1.0, 0.5, 1.0),
    "delivery": (1.0, 2.0, 0.5),
    "billing": (1.0, 2.5, 0.4),
    "app_website": (1.0, 1.2, 0.5),
    "returns_refunds": (1.0, 2.0, 0.8),
}
SEASON_MONTHS, SEASON_SHIFT = (12,), -0.6
VOLUME_GROWTH, WEEKEND_VOLUME = 0.25, 1.15
EMERGING_THEME = "app_login"
EMERGING_START: date = DEMO_END - timedelta(days=20)
EMERGING_FINAL_SHARE = 0.18
EMERGING_EFFECT = -2.0
PILOT_UNIT, CONTROL_UNIT = "R-NORTH", "R-SOUTH"
PILOT_START: date = DEMO_END - timedelta(days=180)
PILOT_WAIT_NEG_SHARE = 0.30
PILOT_LIFT = 0.40
PRAISE_PROB, PII_RATE, EMOJI_RATE, FILLER_RATE = 0.6, 0.01, 0.07, 0.08
TYPO_COMMENT_RATE, TYPO_WORD_RATE = 0.10, 0.06
_HOUR_W = np.array([0, 0, 0, 0, 0, 0, 1, 2, 5, 8, 9, 9, 10, 10, 9, 9, 9, 8, 8, 7, 6, 4, 2, 1], float)
_STAFF = list(THEMES).index("staff_friendliness")
_EPOCH_US = (DEMO_START - date(1970, 1, 1)).days * 86_400 * 10**6


@dataclass
class DemoSource:
    """One feedback source as the importer sees it (canonical column names)."""

    name: str
    kind: str
    frame: pl.DataFrame


@dataclass
class DemoCompany:
    """The generated company: org tree, staff and feedback sources."""

    units: pl.DataFrame
    people: pl.DataFrame
    sources: list[DemoSource]
    # Per row, what was planted: `source`, `external_id`, `text`, one column per theme in THEMES
    # (-1 negative, 0 not mentioned, 1 positive), `app_login` (the emerging issue) and `latent` (the
    # unrounded score). Evaluation and tests only.
    planted: pl.DataFrame


@dataclass(frozen=True)
class _Structure:
    units: list[dict[str, Any]]
    people: list[dict[str, Any]]
    region_codes: list[str]
    region_names: list[str]
    store_codes: list[str]
    store_names: list[str]
    store_region: np.ndarray
    store_prob: np.ndarray
    store_effect: np.ndarray
    praised: list[dict[str, Any]]


@cache
def _bank() -> dict[str, Any]:
    """Phrase banks are data (YAML) so wording can grow without code changes."""
    text = resources.files("cxchange.demo").joinpath("phrases.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _slug(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", s).lower() if c.isascii() and c.isalnum())


@cache
def _structure() -> _Structure:
    """Fixed org tree and staff (independent of ``seed``) so TRUTH can name units and people."""
    bank = _bank()
    rng = np.random.default_rng(STRUCTURE_SEED)
    co = bank["company"]
    units: list[dict[str, Any]] = [{"code": "HQ", "name": co["hq_name"], "parent": None, "level": "company"}]
    rcodes, rnames, scodes, snames, sreg, sprob, seff = [], [], [], [], [], [], []
    pilot_pairs: tuple[np.ndarray, np.ndarray] | None = None
    for ri, reg in enumerate(bank["regions"]):
        code, n = reg["code"], int(reg["stores"])
        rcodes.append(code)
        rnames.append(reg["name"])
        units.append({"code": code, "name": reg["name"], "parent": "HQ", "level": "region"})
        if code == CONTROL_UNIT and pilot_pairs is not None and len(pilot_pairs[0]) == n:
            perm = rng.permutation(n)  # control = same stores' sizes and effects, shuffled: same baseline
            w, e = pilot_pairs[0][perm], pilot_pairs[1][perm]
        else:
            w = rng.lognormal(0.0, 0.35, n)
            w = w / w.sum()
            e = rng.normal(0.0, STORE_EFFECT_SD, n)
            e = e - float(w @ e)
        if code == PILOT_UNIT:
            pilot_pairs = (w, e)
        for j in range(n):
            scodes.append(f"S-{reg['prefix']}-{j + 1:02d}")
            snames.append(reg["towns"][j])
            sreg.append(ri)
            sprob.append(w[j] * REGION_SHARE[code])
            seff.append(e[j])
            units.append({"code": scodes[-1], "name": snames[-1], "parent": code, "level": "store"})
    store_prob = np.array(sprob) / sum(sprob)
    firsts, lasts, used = bank["first_names"], bank["last_names"], set()
    people: list[dict[str, Any]] = []

    def hire(unit: str, role: str) -> None:
        while True:
            first, last = firsts[rng.integers(len(firsts))], lasts[rng.integers(len(lasts))]
            email = f"{_slug(first)}.{_slug(last)}@{co['domain']}"
            if email not in used:
                used.add(email)
                people.append({"name": f"{first} {last}", "email": email, "unit": unit, "role": role})
                return

    for _ in range(N_EXECS):
        hire("HQ", "exec")
    for code in rcodes:
        hire(code, "regional_manager")
    for code in scodes:
        hire(code, "store_manager")
    n_agents = N_PEOPLE - len(people)
    per = np.full(len(scodes), 2) + np.floor(store_prob * (n_agents - 2 * len(scodes))).astype(int)
    for j in np.argsort(-store_prob)[: n_agents - int(per.sum())]:
        per[j] += 1
    for code, k in zip(scodes, per, strict=True):
        for _ in range(k):
            hire(code, "agent")
    first_count: dict[str, int] = defaultdict(int)
    for p in people:
        first_count[p["name"].split(" ")[0]] += 1
    praised = []
    for ri in range(len(rcodes)):
        stores = sorted((j for j in range(len(scodes)) if sreg[j] == ri), key=lambda j: -store_prob[j])
        pick = next(
            (p, j)
            for j in stores
            for p in people
            if p["unit"] == scodes[j] and p["role"] == "agent" and first_count[p["name"].split(" ")[0]] == 1
        )
        p, j = pick
        praised.append(
            {
                **p,
                "first_name": p["name"].split(" ")[0],
                "unit_name": snames[j],
                "region": rcodes[ri],
                "store_idx": j,
            }
        )
    return _Structure(
        units, people, rcodes, rnames, scodes, snames, np.array(sreg), store_prob, np.array(seff), praised
    )


@cache
def _days() -> dict[str, np.ndarray]:
    """Per-day volume weight, seasonal shift, emerging share and pilot switch."""
    idx = np.arange(N_DAYS)
    days = [DEMO_START + timedelta(days=int(i)) for i in idx]
    weekend = np.array([d.weekday() >= 5 for d in days])
    weight = (1 + VOLUME_GROWTH * idx / (N_DAYS - 1)) * np.where(weekend, WEEKEND_VOLUME, 1.0)
    season = np.array([SEASON_SHIFT if d.month in SEASON_MONTHS else 0.0 for d in days])
    k = idx - (EMERGING_START - DEMO_START).days
    span = N_DAYS - (EMERGING_START - DEMO_START).days
    em = np.where(k >= 0, EMERGING_FINAL_SHARE * (k + 1) / span, 0.0)
    pilot_on = idx >= (PILOT_START - DEMO_START).days
    return {"weight": weight, "p": weight / weight.sum(), "season": season, "em": em, "pilot": pilot_on}


# ---------------------------------------------------------------- closed-form truth (why: exact, seed-free)
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
    s = _structure()
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
    d, s = _days(), _structure()
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


def _split(rows: int) -> list[int]:
    counts = [round(rows * share) for _, _, share, _ in SOURCES[:-1]]
    return [*counts, rows - sum(counts)]


def _build_truth() -> dict[str, Any]:
    """Everything planted, as plain JSON-able data (floats rounded to 3 decimals)."""
    s, bank, d = _structure(), _bank(), _days()

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
        comments = [n * sp * tr for n, tr in zip(_split(20_000), TEXT_RATE, strict=True)]
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


# ---------------------------------------------------------------- text composition
def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _luhn_card(r: random.Random) -> str:
    digits = [4] + [r.randrange(10) for _ in range(14)]
    total = sum(x if i % 2 else sum(divmod(2 * x, 10)) for i, x in enumerate(reversed(digits)))
    return "".join(map(str, [*digits, (10 - total % 10) % 10]))


class _Vals(dict):
    """Placeholder values drawn afresh at each use (why: one template, many surface forms)."""

    def __init__(self, r: random.Random, bank: dict[str, Any]) -> None:
        super().__init__()
        intens, items = bank["intensifiers"], bank["items"]
        self.draws = {
            "intens": lambda: r.choice(intens) if r.random() < 0.55 else "",
            "minutes": lambda: str(5 * r.randint(3, 18)),
            "quick": lambda: str(r.randint(2, 5)),
            "hours": lambda: str(r.randint(2, 4)),
            "days": lambda: str(r.randint(3, 21)),
            "weeks": lambda: str(r.randint(2, 8)),
            "years": lambda: str(r.randint(2, 15)),
            "times": lambda: str(r.randint(3, 6)),
            "nth": lambda: r.choice(["second", "third", "fourth", "fifth"]),
            "amount": lambda: str(r.choice([5, 8, 10, 12, 15, 20, 25, 30, 40, 45, 60, 75])),
            "order": lambda: f"LK{r.randint(1_000_000, 9_999_999)}",
            "item": lambda: r.choice(items),
        }

    def __missing__(self, key: str) -> str:
        return self.draws[key]()


class _Composer:
    """Turns a row's planted facts (themes, polarity, score class) into a believable comment."""

    def __init__(self, bank: dict[str, Any], r: random.Random) -> None:
        self.r, self.vals, b = r, _Vals(r, bank), bank
        self.clauses = [(b["themes"][t]["negative"], b["themes"][t]["positive"]) for t in THEMES]
        self.emerging, self.praise = b["emerging"][EMERGING_THEME]["phrases"], b["praise"]
        self.con, self.openers, self.cl = b["connectors"], b["openers"], b["closers"]
        self.generic = {1: b["generic"]["positive"], -1: b["generic"]["negative"], 0: b["generic"]["neutral"]}
        self.closers = {1: self.cl["positive"], -1: self.cl["negative"], 0: self.cl["neutral"]}
        self.rclosers = {
            1: self.cl["review_positive"] + self.cl["positive"],
            -1: self.cl["review_negative"] + self.cl["negative"],
            0: self.cl["neutral"],
        }
        self.emoji, self.filler, self.pii_b = b["emoji"], b["filler"], b["pii"]
        self.enders = [".", ".", ".", ".", "!", "!!", "...", ""]

    def fill(self, tmpl: str) -> str:
        return tmpl.format_map(self.vals) if "{" in tmpl else tmpl

    def comment(
        self, kind: str, states: list[int], em: bool, name: str | None, store: str, senti: int, pii: int
    ) -> str:
        r, con = self.r, self.con
        self.vals["store"], self.vals["name"] = store, name or ""
        parts = [
            (
                s,
                self.fill(
                    r.choice(self.praise if (s > 0 and name and j == _STAFF) else self.clauses[j][s > 0])
                ),
            )
            for j, s in enumerate(states)
            if s
        ]
        if em:
            parts.append((-1, self.fill(r.choice(self.emerging))))
        if not parts:
            if kind == "survey" and r.random() < FILLER_RATE:
                return r.choice(self.filler)
            body = r.choice(self.generic[senti])
        else:
            if len(parts) > 1:
                r.shuffle(parts)
            body, prev = parts[0][1], parts[0][0]
            for pol, clause in parts[1:]:
                pool = (
                    con["addition"]
                    if pol == prev
                    else (con["contrast"] + (con["to_negative"] if pol < 0 else con["to_positive"]))
                )
                conn = r.choice(pool)
                body += conn + (_cap(clause) if conn.rstrip()[-1:] in ".!" else clause)
                prev = pol
        ender, tone = r.choice(self.enders), senti  # closers/emoji follow the clauses, else the score
        if parts and (bal := sum(p for p, _ in parts)):
            tone = 1 if bal > 0 else -1
        if r.random() < 0.22:
            opener = self.fill(r.choice(self.openers[kind]))
            if not opener.endswith(","):
                body = _cap(body)
            elif not parts:  # generic phrases are capitalised; clauses start lower-case (or "I", a name)
                body = body[:1].lower() + body[1:]
            text = f"{opener} {body}"
        else:
            text = _cap(body)
        if r.random() < 0.3:
            closers = self.rclosers if kind == "review" else self.closers
            text += (ender or ".") + " " + r.choice(closers[tone])
        else:
            text += ender
        text = text.replace("  ", " ")
        if r.random() < TYPO_COMMENT_RATE:
            text = self.typos(text)
        if pii:
            text += " " + self.pii(pii)
        if tone and r.random() < EMOJI_RATE:
            text += " " + r.choice(self.emoji["positive" if tone > 0 else "negative"])
        u = r.random()
        return text.lower() if u < 0.04 else text.upper() if (u > 0.985 and tone < 0) else text

    def typos(self, text: str) -> str:
        """Seeded swaps/drops/doubles in lower-case words (names and PII are left intact)."""
        r, words = self.r, text.split(" ")
        for i, w in enumerate(words):
            if len(w) >= 4 and w.isalpha() and w.islower() and r.random() < TYPO_WORD_RATE:
                j, op = r.randrange(len(w) - 1), r.random()
                words[i] = (
                    w[:j] + w[j + 1] + w[j] + w[j + 2 :]
                    if op < 0.45
                    else w[:j] + w[j + 1 :]
                    if op < 0.8
                    else w[:j] + w[j] + w[j:]
                )
        return " ".join(words)

    def pii(self, kind: int) -> str:
        r, b = self.r, self.pii_b
        if kind == 1:
            num = str(r.randint(1, 99)) if r.random() < 0.5 else ""
            email = f"{r.choice(b['local_parts'])}{num}@{r.choice(b['email_domains'])}"
            return r.choice(b["email"]).format(email=email)
        if kind == 2:
            k = r.randint(0, 999)
            return r.choice(b["phone"]).format(
                phone=r.choice([f"07700 900{k:03d}", f"+44 7700 900{k:03d}", f"0161 496 0{k:03d}"])
            )
        card, sep = _luhn_card(r), r.choice([" ", "-", ""])
        return r.choice(b["card"]).format(card=sep.join(card[i : i + 4] for i in range(0, 16, 4)))


# ---------------------------------------------------------------- generator
def _pick(rng: np.random.Generator, probs: dict[str, float], n: int) -> np.ndarray:
    p = np.array(list(probs.values()))
    return rng.choice(len(p), size=n, p=p / p.sum())


def generate(rows: int = 20_000, seed: int = 42) -> DemoCompany:
    """Generate ``rows`` feedback rows (split over the three sources) for the fixed demo company."""
    if rows < 0:
        raise ValueError("rows must be >= 0")
    s, bank, d = _structure(), _bank(), _days()
    rng = np.random.default_rng(seed)
    counts = _split(rows)
    src = np.repeat(np.arange(len(SOURCES)), counts)
    bounds = np.concatenate([[0], np.cumsum(counts)])
    secs = rng.choice(N_DAYS, size=rows, p=d["p"]).astype(np.int64) * 86_400
    secs += rng.choice(24, size=rows, p=_HOUR_W / _HOUR_W.sum()) * 3600 + rng.integers(0, 3600, rows)
    for a, b in itertools.pairwise(bounds):
        secs[a:b] = np.sort(secs[a:b])  # rows are i.i.d., so sorting times alone keeps them i.i.d.
    day = secs // 86_400
    n_cust = max(50, rows // 3)
    c_store = rng.choice(len(s.store_codes), size=n_cust, p=s.store_prob)
    c_seg = _pick(rng, {k: v[0] for k, v in SEGMENTS.items()}, n_cust)
    c_prod = _pick(rng, PRODUCTS, n_cust)
    seg_v = np.array(list(SEGMENTS.values()))
    c_value = np.round(rng.lognormal(seg_v[c_seg, 2], seg_v[c_seg, 3]), 2)
    cust = rng.integers(0, n_cust, rows)
    store, seg = c_store[cust], c_seg[cust]
    prod = np.where(rng.random(rows) < 0.7, c_prod[cust], _pick(rng, PRODUCTS, rows))
    region = s.store_region[store]
    pilot = (region == s.region_codes.index(PILOT_UNIT)) & d["pilot"][day]
    state = np.zeros((rows, len(THEMES)), np.int8)
    latent = np.array([REGION_EFFECT[c] for c in s.region_codes])[region] + s.store_effect[store]
    latent += seg_v[seg, 1] + d["season"][day] + PILOT_LIFT * pilot + np.array(SOURCE_OFFSET)[src] + BASE
    for j, (t, (rate, neg, en, ep)) in enumerate(THEMES.items()):
        mentioned = rng.random(rows) < rate * np.array(THEME_SOURCE_MULT[t])[src]
        negp = np.where(pilot, PILOT_WAIT_NEG_SHARE, neg) if t == "waiting_time" else neg
        is_neg = rng.random(rows) < negp
        state[:, j] = np.where(mentioned, np.where(is_neg, -1, 1), 0)
        latent += np.where(mentioned, np.where(is_neg, en, ep), 0.0)
    em = rng.random(rows) < d["em"][day]
    latent += EMERGING_EFFECT * em + rng.normal(0.0, NOISE_SD, rows)
    nps = np.clip(np.rint(latent), 0, 10).astype(np.int64)
    csat = np.clip(np.rint(1 + 0.4 * latent + rng.normal(0, 0.35, rows)), 1, 5).astype(np.int64)
    ces = np.clip(np.rint(0.8 + 0.62 * latent + rng.normal(0, 0.6, rows)), 1, 7).astype(np.int64)
    rating = np.clip(np.rint(1 + 0.42 * latent + rng.normal(0, 0.45, rows)), 1, 5).astype(np.int64)
    senti = np.select(
        [src == 0, src == 1],
        [np.sign((nps >= 9).astype(int) - (nps <= 6)), np.sign((csat >= 4).astype(int) - (csat <= 2))],
        np.sign((rating >= 4).astype(int) - (rating <= 2)),
    )
    has_text = rng.random(rows) < np.array(TEXT_RATE)[src]
    praised_store = np.full(len(s.store_codes), -1)
    for k, p in enumerate(s.praised):
        praised_store[p["store_idx"]] = k
    praise = np.where(
        has_text & (state[:, _STAFF] == 1) & (rng.random(rows) < PRAISE_PROB), praised_store[store], -1
    )
    pii = np.where(has_text & (rng.random(rows) < PII_RATE), rng.integers(1, 4, rows), 0)
    channel = np.zeros(rows, np.int64)  # index into all sources' channel names laid end to end
    for i, (a, b) in enumerate(itertools.pairwise(bounds)):
        channel[a:b] = _pick(rng, CHANNELS[i], int(b - a)) + sum(len(c) for c in CHANNELS[:i])

    comp = _Composer(bank, random.Random(seed * 1_000_003 + 17))
    texts: list[str | None] = [None] * rows
    idx = np.nonzero(has_text)[0]
    kinds, names = [k for _, k, _, _ in SOURCES], [p["first_name"] for p in s.praised]
    for i, st, e, pr, sto, se, pi, sr in zip(
        idx.tolist(),
        state[idx].tolist(),
        em[idx].tolist(),
        praise[idx].tolist(),
        store[idx].tolist(),
        senti[idx].tolist(),
        pii[idx].tolist(),
        src[idx].tolist(),
        strict=True,
    ):
        texts[i] = comp.comment(kinds[sr], st, e, names[pr] if pr >= 0 else None, s.store_names[sto], se, pi)

    cols = {
        "received_at": pl.Series(secs * 1_000_000 + _EPOCH_US).cast(pl.Datetime("us")),
        "text": pl.Series(texts, dtype=pl.String),
        "nps": pl.Series(nps),
        "csat": pl.Series(csat),
        "ces": pl.Series(ces),
        "rating": pl.Series(rating),
        "customer_id": pl.Series(cust + 1).cast(pl.String).str.zfill(6),
        "org_unit": pl.Series(s.store_codes).gather(store),
        "channel": pl.Series([c for ch in CHANNELS for c in ch]).gather(channel),
        "customer_value": pl.Series(c_value[cust]),
        "region": pl.Series(s.region_names).gather(region),
        "segment": pl.Series(list(SEGMENTS)).gather(seg),
        "product": pl.Series(list(PRODUCTS)).gather(prod),
    }
    full = pl.DataFrame(cols).with_columns(customer_id="C" + pl.col("customer_id"))
    cust_cols = ["customer_id", "org_unit", "channel", "customer_value", "region", "segment", "product"]
    layout = {
        "survey": ["nps", *cust_cols],
        "ticket": ["csat", "ces", *cust_cols],
        "review": ["rating", "org_unit", "channel", "region"],
    }  # public reviewers are anonymous
    sources = []
    for (name, kind, _, prefix), (a, b) in zip(SOURCES, itertools.pairwise(bounds), strict=True):
        frame = (
            full.slice(int(a), int(b - a))
            .with_row_index("external_id", offset=1)
            .with_columns(
                external_id=pl.lit(f"{prefix}-") + pl.col("external_id").cast(pl.String).str.zfill(7)
            )
        )
        frame = frame.select(["external_id", "received_at", "text", *layout[kind]])
        sources.append(DemoSource(name=name, kind=kind, frame=frame))
    planted = pl.DataFrame(
        {
            "source": pl.Series([SOURCES[i][0] for i in range(len(SOURCES))]).gather(src),
            "external_id": pl.concat([f["external_id"] for f in (x.frame for x in sources)]),
            "text": cols["text"],
            **{t: pl.Series(state[:, j]) for j, t in enumerate(THEMES)},
            EMERGING_THEME: pl.Series(em),
            "latent": pl.Series(latent),  # the 0–10 answer before rounding: counterfactuals for tests
        }
    )
    units = pl.DataFrame(
        s.units, schema={"code": pl.String, "name": pl.String, "parent": pl.String, "level": pl.String}
    )
    people = pl.DataFrame(
        s.people, schema={"name": pl.String, "email": pl.String, "unit": pl.String, "role": pl.String}
    )
    return DemoCompany(units=units, people=people, sources=sources, planted=planted)


TRUTH: dict[str, Any] = _build_truth()
