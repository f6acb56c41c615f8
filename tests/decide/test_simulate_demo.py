"""The simulator against the demo company's planted truth (generate.py: latent scores per row)."""

from __future__ import annotations

import numpy as np
import polars as pl
from sqlalchemy import Engine

from cxchange.decide.service import simulate
from cxchange.decide.simulate import category_of
from cxchange.demo.generate import THEMES, generate


def _planted_effect(theme: str, share: float) -> float:
    """NPS change if `share` of the survey comments complaining about `theme` lost its planted effect."""
    p = generate(20_000, 42).planted.filter(pl.col("source") == "nps_survey")
    latent, has_text = p["latent"].to_numpy(), p["text"].is_not_null().to_numpy()
    complains = (p[theme].to_numpy() == -1) & has_text

    def nps(x: np.ndarray) -> float:
        cat = category_of(np.clip(np.rint(x), 0, 10))
        return 100.0 * ((cat == 0).mean() - (cat == 2).mean())

    effect_if_negative = THEMES[theme][2]
    return share * (nps(latent - effect_if_negative * complains) - nps(latent))


def test_fixing_the_queue_recovers_its_planted_effect(demo_engine: Engine) -> None:
    planted = _planted_effect("waiting_time", 0.5)
    result = simulate(demo_engine, ["Waiting time=0.5"], draws=1000)
    assert result["delta_ci_low"] <= planted <= result["delta_ci_high"]
    assert result["ci_low"] <= result["projected_nps"] <= result["ci_high"]
    assert "comparable" in result["method"] and result["assumptions"]


def test_a_theme_without_planted_effect_moves_nps_by_about_nothing(demo_engine: Engine) -> None:
    result = simulate(demo_engine, ["Store and environment=0.5"], draws=1000)
    assert abs(result["delta"]) < 0.3
    assert result["delta_ci_low"] < 0.3
