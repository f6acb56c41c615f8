"""The simulator against the demo company's planted truth (generate.py: latent scores per row)."""

from __future__ import annotations

import numpy as np
import polars as pl
from sqlalchemy import Engine

from cxchange.decide.service import simulate
from cxchange.decide.simulate import category_of
from cxchange.demo.company import THEMES
from cxchange.demo.generator import generate


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


def test_a_theme_fixed_twice_is_fixed_once(demo_engine: Engine) -> None:
    """Repeating a theme compounded the projection (+3.88 once, +5.81 twice, +7.74 a thousand times)."""
    from cxchange.decide.data import load_respondents

    once = simulate(demo_engine, ["Waiting time"], draws=200)
    again = simulate(demo_engine, ["Waiting time", "waiting time ", "Waiting time"], draws=200)
    theme_id = load_respondents(demo_engine).theme_id("Waiting time")
    by_id = simulate(demo_engine, ["Waiting time", str(theme_id)], draws=200)
    assert again["delta"] == once["delta"] == by_id["delta"]
    assert [f["theme"] for f in again["fixes"]] == ["Waiting time"]


def test_fix_lists_are_capped_and_conflicts_refused() -> None:
    import pytest

    from cxchange.core.errors import InputError
    from cxchange.decide.service import MAX_FIXES, parse_fixes

    assert parse_fixes(["A", "a ", "A=0.5"]) == [("A", 0.5)]  # the default share is 0.5
    with pytest.raises(InputError, match="twice with different shares"):
        parse_fixes(["A=0.2", "A=0.3"])
    assert len(parse_fixes(["Waiting time"] * 5000)) == 1  # duplicates cost nothing
    with pytest.raises(InputError, match=f"at most {MAX_FIXES}"):
        parse_fixes([f"T{i}" for i in range(MAX_FIXES + 1)])
