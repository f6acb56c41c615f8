"""Relative importance against published tables (relaimpo, rwa), by properties, and on bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cxchange.core.errors import CxError, InputError
from cxchange.decide.bootstrap import bootstrap
from cxchange.decide.importance import (
    EXACT_LIMIT,
    relative_weights,
    sampled_shapley,
    shapley,
    subset_r2,
)
from cxchange.decide.regression import prepare

DATA = Path(__file__).parent / "data"
SWISS_X = ["Agriculture", "Examination", "Education", "Catholic", "Infant.Mortality"]
MTCARS_X = ["cyl", "disp", "hp", "gear"]


def printed(value: float, text: str) -> bool:
    """True if `value` prints as `text` to the digits `text` shows (R's print rounds half to even;
    the half-ulp slack never decides anything here)."""
    decimals = len(text.split(".")[1]) if "." in text else 0
    return abs(value - float(text)) <= 0.5 * 10.0**-decimals + 1e-15


@pytest.fixture(scope="module")
def swiss() -> tuple[np.ndarray, np.ndarray]:
    frame = pl.read_csv(DATA / "swiss.csv")
    return frame.select(SWISS_X).to_numpy().astype(float), frame["Fertility"].to_numpy().astype(float)


@pytest.fixture(scope="module")
def mtcars() -> tuple[np.ndarray, np.ndarray]:
    frame = pl.read_csv(DATA / "mtcars.csv")
    return frame.select(MTCARS_X).to_numpy().astype(float), frame["mpg"].to_numpy().astype(float)


def test_swiss_matches_relaimpo_calc_relimp(swiss: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = swiss
    result = shapley(x, y, names=SWISS_X, target="Fertility")
    assert result.n == 47 and result.names == tuple(SWISS_X)
    assert printed(result.r2, "0.7067350")
    lmg = ["0.05709122", "0.17117303", "0.26013468", "0.10557015", "0.11276592"]
    first = ["0.1246649", "0.4171645", "0.4406156", "0.2150035", "0.1735189"]
    last = ["0.042869607", "0.007387419", "0.161962693", "0.062372626", "0.056945259"]
    for j in range(5):
        assert printed(result.lmg[j], lmg[j]), (SWISS_X[j], result.lmg[j], lmg[j])
        assert printed(result.first[j], first[j]), (SWISS_X[j], result.first[j], first[j])
        assert printed(result.last[j], last[j]), (SWISS_X[j], result.last[j], last[j])
    assert result.lmg.sum() == pytest.approx(result.r2, abs=1e-14)


def test_mtcars_matches_rwa_with_applysigns(mtcars: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = mtcars
    result = relative_weights(x, y, names=MTCARS_X, target="mpg")
    assert result.n == 32
    assert printed(result.r2, "0.7791896")
    raw = ["0.2284797", "0.2221469", "0.2321744", "0.0963886"]
    rescaled = ["29.32274", "28.50999", "29.79691", "12.37037"]
    for j in range(4):
        assert printed(result.raw[j], raw[j]), (MTCARS_X[j], result.raw[j])
        assert printed(result.rescaled[j], rescaled[j]), (MTCARS_X[j], result.rescaled[j])
    assert result.signs == ("-", "-", "-", "+")
    assert result.raw.sum() == pytest.approx(result.r2, abs=1e-14)


def test_subset_table_equals_refitting_every_regression(swiss: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = swiss
    table = subset_r2(prepare(x, y).corr)
    tss = ((y - y.mean()) ** 2).sum()
    for mask in range(1 << 5):
        design = np.column_stack([np.ones(len(y))] + [x[:, j] for j in range(5) if mask >> j & 1])
        resid = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
        assert table[mask] == pytest.approx(1 - resid @ resid / tss, abs=1e-12), mask


def test_subset_table_is_batched_over_leading_axes(swiss: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = swiss
    corr = prepare(x, y).corr
    one = subset_r2(corr)
    stacked = subset_r2(np.stack([corr, corr])[None])
    assert stacked.shape == (1, 2, 32)
    np.testing.assert_allclose(stacked[0, 1], one, atol=1e-15)


# ------------------------------------------------------------------------------------------------
# Properties


def _data(seed: int, n: int, p: int, binary: int) -> tuple[np.ndarray, np.ndarray]:
    """Correlated predictors (the first `binary` of them 0/1 flags) and a noisy linear target."""
    rng = np.random.default_rng(seed)
    common = rng.normal(size=(n, 1))
    x = rng.normal(size=(n, p)) + rng.uniform(0, 1.5) * common
    for j in range(min(binary, p)):
        x[:, j] = (x[:, j] > rng.normal(scale=0.5)).astype(float)
    y = x @ rng.normal(size=p) + rng.normal(scale=rng.uniform(0.2, 3), size=n)
    return x, y


def _usable(x: np.ndarray, y: np.ndarray) -> bool:
    try:
        prepare(x, y)
    except InputError:
        return False
    return True


shape = st.tuples(st.integers(0, 2**32 - 1), st.integers(12, 80), st.integers(1, 7), st.integers(0, 3)).map(
    lambda t: _data(*t)
)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(shape)
def test_lmg_sums_to_r2_of_the_regression(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = data
    assume(_usable(x, y))
    result = shapley(x, y)
    design = np.column_stack([np.ones(len(y)), x])
    resid = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    r2 = 1 - resid @ resid / ((y - y.mean()) ** 2).sum()
    assert result.r2 == pytest.approx(r2, abs=1e-9)
    assert result.lmg.sum() == pytest.approx(result.r2, abs=1e-12)
    assert (result.lmg >= -1e-12).all()
    # first ≥ lmg ≥ last need not hold in general, but both bound the total
    assert (result.first <= 1 + 1e-12).all() and (result.last >= -1e-12).all()


@SETTINGS
@given(shape, st.randoms(use_true_random=False))
def test_invariant_to_predictor_order(data: tuple[np.ndarray, np.ndarray], random) -> None:  # type: ignore[no-untyped-def]
    x, y = data
    assume(_usable(x, y))
    order = list(range(x.shape[1]))
    random.shuffle(order)
    base, moved = shapley(x, y), shapley(x[:, order], y)
    np.testing.assert_allclose(moved.lmg, base.lmg[order], atol=1e-12)
    np.testing.assert_allclose(moved.last, base.last[order], atol=1e-12)
    rw_base, rw_moved = relative_weights(x, y), relative_weights(x[:, order], y)
    np.testing.assert_allclose(rw_moved.raw, rw_base.raw[order], atol=1e-10)


@SETTINGS
@given(shape, st.integers(0, 2**32 - 1))
def test_invariant_to_affine_rescaling(data: tuple[np.ndarray, np.ndarray], seed: int) -> None:
    x, y = data
    assume(_usable(x, y))
    rng = np.random.default_rng(seed)
    scale = rng.choice([-1, 1], size=x.shape[1]) * rng.uniform(0.01, 100, size=x.shape[1])
    shift = rng.uniform(-1000, 1000, size=x.shape[1])
    base = shapley(x, y)
    moved = shapley(x * scale + shift, -3.5 * y + 40)
    np.testing.assert_allclose(moved.lmg, base.lmg, atol=1e-9)
    np.testing.assert_allclose(moved.r2, base.r2, atol=1e-9)
    np.testing.assert_allclose(
        relative_weights(x * scale + shift, 2 * y).raw, relative_weights(x, y).raw, atol=1e-9
    )


@SETTINGS
@given(shape)
def test_relative_weights_sum_to_r2(data: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = data
    assume(_usable(x, y))
    rw = relative_weights(x, y)
    assert rw.raw.sum() == pytest.approx(rw.r2, abs=1e-10)
    assert rw.rescaled.sum() == pytest.approx(100.0, abs=1e-8)
    assert rw.r2 == pytest.approx(shapley(x, y).r2, abs=1e-10)
    assert (rw.raw >= -1e-12).all()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape, st.integers(0, 1000))
def test_sampled_shapley_is_close_to_exact(data: tuple[np.ndarray, np.ndarray], seed: int) -> None:
    x, y = data
    assume(_usable(x, y))
    exact = shapley(x, y)
    sampled = sampled_shapley(x, y, n_perm=2000, seed=seed)
    assert sampled.values.sum() == pytest.approx(exact.r2, abs=1e-12)  # every order telescopes to R²
    assert sampled.n_perm == 2000
    assert (np.abs(sampled.values - exact.lmg) <= 6 * sampled.se + 1e-10).all()
    assert (np.abs(sampled.values - exact.lmg) <= 0.02).all()


def test_sampled_shapley_is_seeded_and_exact_when_orders_cover_everything() -> None:
    x, y = _data(3, 200, 2, 0)
    # With two predictors the two orders are each other's reverse: one antithetic pair is exact.
    two = sampled_shapley(x, y, n_perm=2, seed=1)
    np.testing.assert_allclose(two.values, shapley(x, y).lmg, atol=1e-14)
    x, y = _data(4, 200, 6, 1)
    a, b = sampled_shapley(x, y, n_perm=200, seed=9), sampled_shapley(x, y, n_perm=200, seed=9)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.array_equal(a.values, sampled_shapley(x, y, n_perm=200, seed=10).values)


# ------------------------------------------------------------------------------------------------
# Bootstrap


def test_bootstrap_is_seeded_and_brackets_the_estimate(swiss: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = swiss
    ci = bootstrap(x, y, n_boot=300, seed=5)
    again = bootstrap(x, y, n_boot=300, seed=5)
    np.testing.assert_array_equal(ci.low, again.low)
    assert ci.n_valid == 300 and ci.samples.shape == (300, 5)
    lmg = shapley(x, y).lmg
    assert (ci.low <= lmg).all() and (lmg <= ci.high).all()
    narrow = bootstrap(x, y, n_boot=300, seed=5, level=0.5)
    assert (narrow.high - narrow.low < ci.high - ci.low).all()
    assert not np.array_equal(bootstrap(x, y, n_boot=300, seed=6).low, ci.low)


def test_bootstrap_relative_weights(mtcars: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = mtcars
    ci = bootstrap(x, y, method="relative-weights", n_boot=200, seed=0)
    raw = relative_weights(x, y).raw
    assert (ci.low <= raw).all() and (raw <= ci.high).all()
    # each replicate's weights still add up to its own R²
    assert np.all(np.abs(ci.samples.sum(axis=1) - 0.5) < 0.5)


def test_bootstrap_drops_degenerate_resamples() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 2))
    x[:, 1] = 0.0
    x[3, 1] = 1.0  # a theme mentioned once: absent from about a third of the resamples
    y = x[:, 0] + 2 * x[:, 1] + rng.normal(size=30)
    ci = bootstrap(x, y, n_boot=200, seed=1)
    assert 100 < ci.n_valid < 180
    assert np.isfinite(ci.low).all() and np.isfinite(ci.high).all()
    assert np.isnan(ci.samples).any(axis=1).sum() == 200 - ci.n_valid


def test_bootstrap_beyond_the_exact_limit_uses_sampled_orders() -> None:
    x, y = _data(11, 300, 5, 0)
    exact = bootstrap(x, y, n_boot=60, seed=2)
    sampled = bootstrap(x, y, n_boot=60, seed=2, exact_limit=3, n_perm=400)
    np.testing.assert_allclose(sampled.samples.sum(axis=1), exact.samples.sum(axis=1), atol=1e-12)
    assert np.abs(sampled.low - exact.low).max() < 0.02


def _flags_and_scores(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Survey-like data: four 0/1 theme flags and a 0–10 score, so rows repeat a lot."""
    rng = np.random.default_rng(seed)
    x = (rng.random((n, 4)) < [0.3, 0.2, 0.1, 0.05]).astype(float)
    y = np.clip(np.round(8 - 3 * x[:, 0] - 1.5 * x[:, 1] + x[:, 2] + rng.normal(0, 2, n)), 0, 10)
    return x, y


def test_bootstrap_of_repeated_rows_resamples_distinct_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    from cxchange.decide import bootstrap as resampling

    x, y = _flags_and_scores(4000, 3)
    grouped = bootstrap(x, y, n_boot=400, seed=1)
    # Drawn over distinct rows (sorted), so the row order does not matter; the row-by-row draw differs.
    order = np.random.default_rng(9).permutation(len(y))
    np.testing.assert_array_equal(bootstrap(x[order], y[order], n_boot=400, seed=1).low, grouped.low)
    monkeypatch.setattr(resampling, "GROUPED_SHARE", 0.0)  # force the row-by-row resampling
    rowwise = bootstrap(x, y, n_boot=400, seed=1)
    assert not np.array_equal(bootstrap(x[order], y[order], n_boot=400, seed=1).low, rowwise.low)
    # The same distribution: intervals agree to within Monte Carlo error (a quarter of their width).
    width = rowwise.high - rowwise.low
    assert (np.abs(grouped.low - rowwise.low) < 0.25 * width).all()
    assert (np.abs(grouped.high - rowwise.high) < 0.25 * width).all()
    assert grouped.samples.mean(axis=0) == pytest.approx(rowwise.samples.mean(axis=0), rel=0.05)


# ------------------------------------------------------------------------------------------------
# Errors and missing values


def test_listwise_deletion(swiss: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = swiss
    x, y = x.copy(), y.copy()
    x[2, 1] = np.nan
    y[5] = np.nan
    data = prepare(x, y)
    assert (data.n, data.n_dropped) == (45, 2)
    keep = np.ones(47, bool)
    keep[[2, 5]] = False
    np.testing.assert_allclose(shapley(data).lmg, shapley(x[keep], y[keep]).lmg, atol=1e-15)
    np.testing.assert_allclose(data.means, x[keep].mean(axis=0))


@pytest.mark.parametrize(
    ("make", "needles"),
    [
        (lambda x, y: (np.column_stack([x, np.full(len(y), 3.0)]), y), ["constant", "'k'"]),
        (lambda x, y: (np.column_stack([x, x[:, 0] + 2 * x[:, 2]]), y), ["collinear", "'k'", "'a'", "'c'"]),
        (
            lambda x, y: (np.column_stack([x, x[:, 1]]), y),
            ["collinear", "'k' is a linear combination of 'b'"],
        ),
        (lambda x, y: (x[:6], y[:6]), ["too few complete rows", "need at least 7"]),
        (lambda x, y: (x, np.full(len(y), 2.0)), ["target 'y' is constant"]),
        (lambda x, y: (np.where(np.arange(len(y))[:, None] == 4, np.inf, x), y), ["infinite", "'a'"]),
    ],
)
def test_clear_errors_name_the_predictors(make, needles: list[str]) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 5))
    y = x.sum(axis=1) + rng.normal(size=40)
    xs, ys = make(x, y)
    names = list("abcde") + (["k"] if xs.shape[1] == 6 else [])
    with pytest.raises(InputError) as err:
        shapley(xs, ys, names=names)
    assert isinstance(err.value, CxError)
    for needle in needles:
        assert needle in str(err.value), str(err.value)
    with pytest.raises(InputError):
        relative_weights(xs, ys, names=names)


def test_too_many_predictors_for_exact_and_bad_arguments() -> None:
    x, y = _data(1, 100, EXACT_LIMIT + 1, 0)
    with pytest.raises(InputError, match="sampled"):
        shapley(x, y)
    assert sampled_shapley(x, y, n_perm=50).values.shape == (EXACT_LIMIT + 1,)
    with pytest.raises(InputError, match="names"):
        shapley(x[:, :3], y, names=["a", "b"])
    with pytest.raises(InputError, match="repeat"):
        shapley(x[:, :3], y, names=["a", "b", "a"])
    with pytest.raises(InputError, match="n_boot"):
        bootstrap(x[:, :3], y, n_boot=0)
    with pytest.raises(InputError, match="method"):
        bootstrap(x[:, :3], y, method="ridge")  # type: ignore[arg-type]


def test_redundant_columns_names_rolled_up_and_constant_ones() -> None:
    from cxchange.decide.regression import redundant_columns

    rng = np.random.default_rng(3)
    a = (rng.random(200) < 0.3).astype(float)
    b = ((rng.random(200) < 0.3) & (a == 0)).astype(float)  # never together with a
    parent = a + b  # a parent theme mentioned exactly when one of its children is
    same = a.copy()
    ones = np.ones(200)
    found = dict(redundant_columns(np.column_stack([a, b, parent, same, ones]), ["a", "b", "p", "s", "k"]))
    assert found == {"k": [], "p": ["a", "b"], "s": ["a"]}
    assert redundant_columns(np.column_stack([a, b]), ["a", "b"]) == []


def test_store_bootstrap_widens_with_store_effects_and_matches_without() -> None:
    """Stores whose driver matters more or less (a store-level shock in the slope) make resampling
    stores widen the interval; with identical stores it matches resampling rows."""
    from cxchange.decide.bootstrap import bootstrap as boot

    def world(slope_sd: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rng = np.random.default_rng(3)
        stores, per = 40, 120
        store = np.repeat(np.arange(stores), per)
        x = rng.random((stores * per, 2)) < 0.3
        slope = 2.0 + rng.normal(0.0, slope_sd, stores)[store]
        y = 7.0 - slope * x[:, 0] - 1.0 * x[:, 1] + rng.normal(0.0, 2.0, stores * per)
        return x.astype(float), y, store

    def width(slope_sd: float, clustered: bool) -> float:
        x, y, store = world(slope_sd)
        ci = boot(x, y, n_boot=400, seed=2, clusters=store if clustered else None)
        return float(ci.high[0] - ci.low[0])

    assert width(0.0, True) == pytest.approx(width(0.0, False), rel=0.2)
    assert width(1.5, True) > 1.5 * width(1.5, False)
    x, y, store = world(0.0)
    with pytest.raises(InputError, match="one cluster label per complete row"):
        boot(x, y, n_boot=10, clusters=store[:-1])
