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

Planted truths (all also in ``demo.truth.TRUTH`` as JSON-able data):

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
from dataclasses import dataclass

import numpy as np
import polars as pl

from cxchange.demo.comments import Composer
from cxchange.demo.company import (
    BASE,
    CHANNELS,
    EMERGING_EFFECT,
    EMERGING_THEME,
    EPOCH_US,
    HOUR_W,
    N_DAYS,
    NOISE_SD,
    PII_RATE,
    PILOT_LIFT,
    PILOT_UNIT,
    PILOT_WAIT_NEG_SHARE,
    PRAISE_PROB,
    PRODUCTS,
    REGION_EFFECT,
    SEGMENTS,
    SOURCE_OFFSET,
    SOURCES,
    STAFF,
    TEXT_RATE,
    THEME_SOURCE_MULT,
    THEMES,
    days,
    phrase_bank,
    split_rows,
    structure,
)


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


def _pick(rng: np.random.Generator, probs: dict[str, float], n: int) -> np.ndarray:
    p = np.array(list(probs.values()))
    return rng.choice(len(p), size=n, p=p / p.sum())


def generate(rows: int = 20_000, seed: int = 42) -> DemoCompany:
    """Generate ``rows`` feedback rows (split over the three sources) for the fixed demo company."""
    if rows < 0:
        raise ValueError("rows must be >= 0")
    s, bank, d = structure(), phrase_bank(), days()
    rng = np.random.default_rng(seed)
    counts = split_rows(rows)
    src = np.repeat(np.arange(len(SOURCES)), counts)
    bounds = np.concatenate([[0], np.cumsum(counts)])
    secs = rng.choice(N_DAYS, size=rows, p=d["p"]).astype(np.int64) * 86_400
    secs += rng.choice(24, size=rows, p=HOUR_W / HOUR_W.sum()) * 3600 + rng.integers(0, 3600, rows)
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
        has_text & (state[:, STAFF] == 1) & (rng.random(rows) < PRAISE_PROB), praised_store[store], -1
    )
    pii = np.where(has_text & (rng.random(rows) < PII_RATE), rng.integers(1, 4, rows), 0)
    channel = np.zeros(rows, np.int64)  # index into all sources' channel names laid end to end
    for i, (a, b) in enumerate(itertools.pairwise(bounds)):
        channel[a:b] = _pick(rng, CHANNELS[i], int(b - a)) + sum(len(c) for c in CHANNELS[:i])

    comp = Composer(bank, random.Random(seed * 1_000_003 + 17))
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
        "received_at": pl.Series(secs * 1_000_000 + EPOCH_US).cast(pl.Datetime("us")),
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
