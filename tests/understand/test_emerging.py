from __future__ import annotations

import numpy as np

from cxchange.understand.emerging import Windows, new_phrases, theme_spikes


def _stream(seed: int, spike: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """63 days × 60 comments; theme 1 steady at 10 %, theme 2 at 5 % (tripling in the last week)."""
    rng = np.random.default_rng(seed)
    days = np.repeat(np.arange(63), 60)
    t1 = rng.random(days.size) < 0.10
    p2 = np.where((days >= 56) & spike, 0.15, 0.05)
    t2 = rng.random(days.size) < p2
    idx = np.concatenate([np.nonzero(t1)[0], np.nonzero(t2)[0]])
    theme = np.concatenate([np.full(t1.sum(), 1), np.full(t2.sum(), 2)])
    return days, idx, theme


def test_a_tripled_theme_is_flagged_and_a_steady_one_is_not() -> None:
    days, idx, theme = _stream(0, spike=True)
    out = theme_spikes(days, idx, theme, Windows(end=62, window=7, baseline_windows=8))
    assert [r["theme_id"] for r in out] == [2]
    assert out[0]["z"] > 3 and out[0]["recent_count"] >= 40


def test_false_alarm_rate_is_low_on_steady_streams() -> None:
    flagged = 0
    for seed in range(100):
        days, idx, theme = _stream(seed, spike=False)
        flagged += len(theme_spikes(days, idx, theme, Windows(end=62, window=7, baseline_windows=8)))
    assert flagged <= 3  # 200 theme-tests at z ≥ 3


def test_new_phrases_find_a_new_topic_and_not_the_usual_words() -> None:
    rng = np.random.default_rng(3)
    usual = ["great service thank you", "the queue was long", "friendly staff", "price too high"]
    baseline = [usual[i] for i in rng.integers(0, 4, 800)]
    recent = [usual[i] for i in rng.integers(0, 4, 100)]
    recent += ["cannot log in to the app since the update", "app update locked me out, cannot log in"] * 10
    out = new_phrases(recent, baseline, min_count=10)
    assert out, "the login cluster should be found"
    top = out[0]
    assert any("log" in t for t in top["terms"])  # type: ignore[union-attr]
    assert all("queue" not in t and "staff" not in t for g in out for t in g["terms"])  # type: ignore[union-attr]
    assert new_phrases(recent[:100], baseline, min_count=10) == []
