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


def test_a_steady_theme_in_thin_baseline_weeks_is_not_flagged() -> None:
    """The Alexa reviews: weeks of 26-168 reviews, then 1,764 in the last; a theme at a steady 3 % had
    a median weekly share of 0 (most thin weeks have no mention), so "71 vs 0.0, z = 51.8". Where a
    baseline week expects too few mentions for its share to mean anything, the bar is the baseline's
    pooled share, with its own sampling error; a real rise from that share is still flagged."""
    alarms = rises = 0
    for seed in range(50):
        rng = np.random.default_rng(seed)
        days = np.concatenate([np.repeat(np.arange(56), 5), np.repeat(np.arange(56, 63), 250)])
        steady = rng.random(days.size) < 0.03
        rising = rng.random(days.size) < np.where(days >= 56, 0.09, 0.03)
        idx = np.concatenate([np.nonzero(steady)[0], np.nonzero(rising)[0]])
        theme = np.concatenate([np.full(steady.sum(), 1), np.full(rising.sum(), 2)])
        flagged = {r["theme_id"] for r in theme_spikes(days, idx, theme, Windows(62, 7, 8))}
        alarms += 1 in flagged
        rises += 2 in flagged
    assert alarms <= 2 and rises >= 35  # 0 and 40 of 50 here; 8 false alarms before
