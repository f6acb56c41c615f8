"""The fixed demo company and the parameters of its score model: pure data, no database.

The org tree and staff depend only on ``STRUCTURE_SEED`` (so ``demo.truth.TRUTH`` can name them); the
constants are the planted effects that ``demo.generate`` draws feedback from and ``demo.truth`` turns
into expected values (see the ``demo.generate`` docstring for the model).
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import yaml

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
HOUR_W = np.array([0, 0, 0, 0, 0, 0, 1, 2, 5, 8, 9, 9, 10, 10, 9, 9, 9, 8, 8, 7, 6, 4, 2, 1], float)
STAFF = list(THEMES).index("staff_friendliness")
EPOCH_US = (DEMO_START - date(1970, 1, 1)).days * 86_400 * 10**6


@dataclass(frozen=True)
class Structure:
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
def phrase_bank() -> dict[str, Any]:
    """Phrase banks are data (YAML) so wording can grow without code changes."""
    text = resources.files("cxchange.demo").joinpath("phrases.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def slug(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", s).lower() if c.isascii() and c.isalnum())


@cache
def structure() -> Structure:
    """Fixed org tree and staff (independent of ``seed``) so TRUTH can name units and people."""
    bank = phrase_bank()
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
            email = f"{slug(first)}.{slug(last)}@{co['domain']}"
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
    return Structure(
        units, people, rcodes, rnames, scodes, snames, np.array(sreg), store_prob, np.array(seff), praised
    )


@cache
def days() -> dict[str, np.ndarray]:
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


def split_rows(rows: int) -> list[int]:
    counts = [round(rows * share) for _, _, share, _ in SOURCES[:-1]]
    return [*counts, rows - sum(counts)]
