"""Generated outcome worlds for the simulation study (`eval/outcomes.py`) and the tests: regions of
stores, monthly NPS answers with region- and store-level monthly shocks, an optional differential
pre-trend in the pilot and an optional planted effect from the start on.

Every answer is a promoter (+100), passive (0) or detractor (−100); a store-month's answers are drawn
from a multinomial around its latent NPS, so cells carry real sampling noise, not a normal shortcut.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from cxchange.sustain.panel import Cells, make_cells
from cxchange.sustain.staggered import NEVER, Rollout

if TYPE_CHECKING:
    from cxchange.sustain.staggered import Rollout


@dataclass(frozen=True)
class World:
    regions: int = 4
    stores_per_region: int = 5
    months_before: int = 12
    months_after: int = 3
    answers_per_month: float = 120.0  # Poisson mean per store and month
    store_sd: float = 10.0  # permanent store differences (NPS points)
    region_month_sd: float = 3.0  # shocks shared by a region's stores in a month
    store_month_sd: float = 3.0  # shocks of one store in one month
    effect: float = 0.0  # NPS points added to pilot stores from the start on
    pretrend: float = 0.0  # NPS points a month the pilot rises relative to the control, throughout


def _answers(rng: np.random.Generator, nps: float, n: int) -> tuple[int, int, int]:
    """Promoters, passives, detractors of n answers around a latent NPS (passives fixed at 30 %)."""
    nps = float(np.clip(nps, -65.0, 65.0))
    promoter = 0.35 + nps / 200.0
    detractor = 0.35 - nps / 200.0
    p, pa, d = rng.multinomial(n, [promoter, 0.30, detractor])
    return int(p), int(pa), int(d)


def generate(
    world: World, rng: np.random.Generator, *, pilot: str, pilot_count: int, control_count: int
) -> tuple[Cells, list[str]]:
    """Cells of one world. `pilot`: "stores" (pilot and control stores drawn at random from all) or
    "regions" (whole regions). Returns the cells (clustered at the level of assignment) and the
    store codes' regions."""
    n_stores = world.regions * world.stores_per_region
    region_of = np.repeat(np.arange(world.regions), world.stores_per_region)
    if pilot == "regions":
        chosen = rng.permutation(world.regions)[: pilot_count + control_count]
        pilot_regions, control_regions = set(chosen[:pilot_count]), set(chosen[pilot_count:])
        stores = [s for s in range(n_stores) if region_of[s] in pilot_regions | control_regions]
        is_pilot = {s: region_of[s] in pilot_regions for s in stores}
        cluster_of = {s: int(region_of[s]) for s in stores}
    else:
        chosen = rng.permutation(n_stores)[: pilot_count + control_count]
        stores = [int(s) for s in chosen]
        is_pilot = {s: i < pilot_count for i, s in enumerate(stores)}
        cluster_of = {s: s for s in stores}
    base = rng.normal(30.0, world.store_sd, n_stores)
    months = np.arange(-world.months_before, world.months_after)
    region_shock = rng.normal(0.0, world.region_month_sd, (world.regions, months.size))
    rows = []
    for s in stores:
        for j, m in enumerate(months):
            latent = base[s] + region_shock[region_of[s], j] + rng.normal(0.0, world.store_month_sd)
            if is_pilot[s]:
                latent += world.pretrend * (m + 0.5) + (world.effect if m >= 0 else 0.0)
            n = int(rng.poisson(world.answers_per_month))
            if n == 0:
                continue
            for value, count in zip((100.0, 0.0, -100.0), _answers(rng, latent, n), strict=True):
                if count:
                    rows.append((s, int(m), int(m >= 0), value, count))
    arr = np.array(rows, dtype=float)
    cells = make_cells(
        arr[:, 0],
        arr[:, 1],
        arr[:, 2],
        arr[:, 3],
        arr[:, 4],
        cluster_of,
        {s for s in stores if is_pilot[s]},
    )
    return cells, [f"R{region_of[s]}" for s in stores]


@dataclass(frozen=True)
class Waves:
    """A staggered rollout in generated worlds: pilot stores split evenly over waves starting at
    `starts` (months after the first start); the effect of a wave is `effects[i]` from its start plus
    `growth` points for every month since (dynamic effects make a single TWFE coefficient biased)."""

    starts: tuple[int, ...] = (0, 2, 4)
    effects: tuple[float, ...] = (0.0, 0.0, 0.0)
    growth: float = 0.0


def generate_staggered(
    world: World, waves: Waves, rng: np.random.Generator, *, pilot_count: int, control_count: int
) -> tuple[Rollout, float]:
    """Store-level staggered worlds: `world.months_before` months before the first start and
    `world.months_after` after the last. Returns the rollout cells and the planted effect averaged
    over the treated cells with their respondents' weights (the estimand of the imputation ATT)."""
    n_stores = world.regions * world.stores_per_region
    region_of = np.repeat(np.arange(world.regions), world.stores_per_region)
    chosen = [int(s) for s in rng.permutation(n_stores)[: pilot_count + control_count]]
    wave_of = {s: i % len(waves.starts) for i, s in enumerate(chosen[:pilot_count])}
    base = rng.normal(30.0, world.store_sd, n_stores)
    months = np.arange(-world.months_before, max(waves.starts) + world.months_after)
    region_shock = rng.normal(0.0, world.region_month_sd, (world.regions, months.size))
    unit, month, y, n, planted = [], [], [], [], []
    for s in chosen:
        for j, m in enumerate(months):
            latent = base[s] + region_shock[region_of[s], j] + rng.normal(0.0, world.store_month_sd)
            effect = 0.0
            if s in wave_of:
                w = wave_of[s]
                latent += world.pretrend * (m + 0.5)
                since = m - waves.starts[w]
                if since >= 0:
                    effect = waves.effects[w] + waves.growth * since
            count = int(rng.poisson(world.answers_per_month))
            if count == 0:
                continue
            p, _pa, d = _answers(rng, latent + effect, count)
            unit.append(s)
            month.append(int(m))
            y.append(100.0 * (p - d) / count)
            n.append(count)
            planted.append(effect if s in wave_of and m >= waves.starts[wave_of[s]] else math.nan)
    code = {s: i for i, s in enumerate(chosen)}
    start = np.array([waves.starts[wave_of[s]] if s in wave_of else NEVER for s in chosen], dtype=np.int64)
    rollout = Rollout(
        unit=np.array(unit),
        cluster=np.array([code[s] for s in unit]),
        month=np.array(month),
        y=np.array(y, dtype=float),
        n=np.array(n, dtype=float),
        start=start,
    )
    eff, cnt = np.array(planted), np.array(n, dtype=float)
    treated = ~np.isnan(eff)
    return rollout, float(np.average(eff[treated], weights=cnt[treated]))
