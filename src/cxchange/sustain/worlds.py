"""Generated outcome worlds for the simulation study (`eval/outcomes.py`) and the tests: regions of
stores, monthly NPS answers with region- and store-level monthly shocks, an optional differential
pre-trend in the pilot and an optional planted effect from the start on.

Every answer is a promoter (+100), passive (0) or detractor (−100); a store-month's answers are drawn
from a multinomial around its latent NPS, so cells carry real sampling noise, not a normal shortcut.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxchange.sustain.panel import Cells, make_cells


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
