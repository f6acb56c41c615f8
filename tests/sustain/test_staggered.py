"""Staggered rollouts (sustain.staggered): the imputation estimate equals pyfixest's did2s, it is
unbiased where a single TWFE coefficient is not, and its randomization inference behaves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxchange.sustain import panel, staggered
from cxchange.sustain.worlds import Waves, World, generate_staggered

DYNAMIC = Waves(starts=(0, 3, 6), effects=(15.0, 10.0, 5.0), growth=2.0)


def _rollout(seed: int, waves: Waves = DYNAMIC, **world: float) -> tuple[staggered.Rollout, float]:
    return generate_staggered(
        World(**world), waves, np.random.default_rng(seed), pilot_count=6, control_count=6
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_imputation_equals_pyfixest_did2s(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    pf = pytest.importorskip("pyfixest")
    import importlib

    module = importlib.import_module("pyfixest.did.did2s")

    # did2s demeans iteratively at feols' default tolerance: tighten it so 1e-8 compares the estimators
    feols = module.feols
    monkeypatch.setattr(module, "feols", lambda *a, **k: feols(*a, **k, fixef_tol=1e-13))
    model = importlib.import_module("pyfixest.estimation.models.feols_").Feols
    fixef = model.fixef
    monkeypatch.setattr(model, "fixef", lambda self: fixef(self, atol=1e-14, btol=1e-14))
    r, _ = _rollout(seed)
    frame = pd.DataFrame(
        {"y": r.y, "n": r.n, "unit": r.unit, "month": r.month, "cluster": r.cluster,
         "D": r.treated_now().astype(int)}
    )  # fmt: skip
    ref = pf.did2s(frame, yname="y", first_stage="~ 0 | unit + month", second_stage="~ i(D, ref=0)",
                   treatment="D", cluster="cluster", weights="n")  # fmt: skip
    coef = float(ref.coef().iloc[0])
    assert staggered.imputation(r) == pytest.approx(coef, abs=1e-8)
    assert staggered.randomization(r).estimate == pytest.approx(coef, abs=1e-8)


def test_imputation_unbiased_where_twfe_is_not() -> None:
    rng = np.random.default_rng(7)
    imp, tw = [], []
    for _ in range(30):
        r, truth = generate_staggered(World(), DYNAMIC, rng, pilot_count=6, control_count=6)
        imp.append(staggered.imputation(r) - truth)
        tw.append(staggered.twfe(r) - truth)
    se = np.std(imp) / np.sqrt(len(imp))
    assert abs(np.mean(imp)) < 3 * se
    assert np.mean(tw) < -3 * np.std(tw) / np.sqrt(len(tw))  # growing effects: TWFE is pulled down


def test_interval_covers_and_noise_is_no_evidence() -> None:
    r, truth = _rollout(11, Waves(starts=(0, 3, 6), effects=(10.0, 10.0, 10.0)))
    a = staggered.assess(r, cluster_word="stores")
    assert a.effect.ci_low is not None and a.effect.ci_high is not None
    assert a.effect.ci_low <= truth <= a.effect.ci_high
    assert a.verdict == panel.IMPROVED
    null, _ = _rollout(12, Waves(starts=(0, 3, 6)))
    assert staggered.assess(null).effect.p_value > 0.05


def test_two_pilots_cannot_tell_and_unimputable_raises() -> None:
    rng = np.random.default_rng(3)
    r, _ = generate_staggered(World(), Waves(starts=(0, 2)), rng, pilot_count=2, control_count=2)
    a = staggered.assess(r)
    assert a.verdict == panel.CANNOT_TELL and a.effect.exact and a.effect.assignments == 12
    with pytest.raises(ValueError, match="cannot be imputed"):
        staggered.imputation_weights(r.unit, r.month, r.n, np.ones(r.unit.size, dtype=bool))
