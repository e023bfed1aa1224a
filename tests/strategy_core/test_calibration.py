"""The walk-forward calibration (S-05) on seeded synthetic series: it finds a planted hourly effect,
falls back to θ_global on a random walk, shrinks its window on drift, and never looks ahead."""

from __future__ import annotations

import math
import random
from decimal import Decimal

from strategy_core import (
    AVI5Config,
    BarSeries,
    CalibrationConfig,
    Side,
    TradeCosts,
    calibrate_fold,
    estimate_p_win,
    extract_candidates,
    population_stability_index,
    walk_forward,
)

DAY = 86_400
T0 = 1_704_067_200  # 2024-01-01 00:00 UTC
CONFIG = CalibrationConfig()
AVI5 = AVI5Config()
COSTS = TradeCosts()
MIN = float(CONFIG.theta_grid[0])


def series(
    days: int,
    *,
    seed: int,
    planted_hour: int | None = None,
    sigma: float = 0.002,
    sigma_after: tuple[int, float] | None = None,
) -> BarSeries:
    """Return a seeded random walk of 5m bars; with ``planted_hour``, a jump at its start runs on all hour."""
    rng = random.Random(seed)
    bars = BarSeries("BTCUSDT")
    price = 100.0
    for i in range(days * 288):
        ts = T0 + 300 * i
        vol = sigma if sigma_after is None or ts < T0 + sigma_after[0] * DAY else sigma_after[1]
        ret = rng.gauss(0.0, vol)
        minute = (ts % 3600) // 60
        if planted_hour is not None and (ts // 3600) % 24 == planted_hour and rng.random() < 0.95:
            ret = (4 * vol if minute == 0 else 1.5 * vol) + rng.gauss(0.0, vol * 0.2)
        o = price
        c = price * math.exp(ret)
        h = max(o, c) * (1 + abs(rng.gauss(0.0, vol * 0.3)))
        lo = min(o, c) * (1 - abs(rng.gauss(0.0, vol * 0.3)))
        v = 100.0 + rng.random() * 20
        bars.append(ts, o, h, lo, c, v, v * c)
        price = c
    return bars


def candidates(bars: BarSeries):  # type: ignore[no-untyped-def]
    return extract_candidates(bars, AVI5, COSTS, MIN)


def test_a_planted_hourly_effect_is_found_and_kept_out_of_sample() -> None:
    result = walk_forward(candidates(series(210, seed=7, planted_hour=14)), T0, T0 + 210 * DAY, CONFIG)
    (fold,) = result.folds
    hour = fold.hours[14]
    assert not hour.dead
    assert not hour.fallback
    assert hour.train_theta is not None
    assert hour.oos_profit_factor is not None
    assert hour.oos_profit_factor >= CONFIG.min_oos_profit_factor
    assert result.theta_map(CONFIG).theta(14) == hour.train_theta
    others = [h for h in fold.hours if h.hour != 14]
    assert sum(h.fallback or h.dead for h in others) >= 20  # the rest of the day is noise
    stats = result.stats()
    long_14 = stats.side_hour(Side.LONG, 14)
    assert long_14 is not None
    assert long_14.wins > long_14.losses
    assert estimate_p_win(14, stats, AVI5, Side.LONG) > Decimal("0.5")


def test_a_random_walk_falls_back_to_theta_global_every_hour() -> None:
    result = walk_forward(candidates(series(210, seed=11)), T0, T0 + 210 * DAY, CONFIG)
    (fold,) = result.folds
    assert all(h.fallback or h.dead for h in fold.hours)
    theta_map = result.theta_map(CONFIG)
    assert {theta_map.theta(h) for h in range(24) if not theta_map.is_dead(h)} == {Decimal("0.35")}


def test_drift_over_the_psi_threshold_shrinks_the_train_window_to_90_days() -> None:
    train_end = T0 + 180 * DAY
    drifted = calibrate_fold(candidates(series(181, seed=3, sigma_after=(90, 0.006))), T0, train_end, CONFIG)
    assert drifted.psi is not None
    assert drifted.psi > CONFIG.psi_threshold
    assert drifted.shrunk
    assert drifted.train_start == train_end - 90 * DAY
    steady = calibrate_fold(candidates(series(181, seed=3)), T0, train_end, CONFIG)
    assert steady.psi is not None
    assert steady.psi < CONFIG.psi_threshold
    assert not steady.shrunk
    assert steady.train_start == T0


def test_population_stability_index_is_zero_for_one_distribution_and_grows_with_a_shift() -> None:
    rng = random.Random(1)
    ref = [rng.gauss(0, 1) for _ in range(5000)]
    same = [rng.gauss(0, 1) for _ in range(5000)]
    wide = [rng.gauss(0, 3) for _ in range(5000)]
    assert population_stability_index(ref, same, 10) < 0.02
    assert population_stability_index(ref, wide, 10) > 0.2


def test_changing_any_bar_after_the_train_end_leaves_the_trained_theta_unchanged() -> None:
    days = 210
    train_end = T0 + 180 * DAY
    original = series(days, seed=5, planted_hour=9)
    altered = series(days, seed=5, planted_hour=9)
    rng = random.Random(99)
    cut = next(i for i, ts in enumerate(altered.ts) if ts >= train_end)
    for i in range(cut, len(altered.ts)):  # a different future: a crash, then noise, a planted hour 3
        scale = 0.5 * math.exp(rng.gauss(0, 0.01))
        c = altered.close[i] * scale
        altered.open[i], altered.close[i] = altered.open[i] * scale, c
        altered.high[i] = max(altered.open[i], c) * 1.01
        altered.low[i] = min(altered.open[i], c) * 0.97
        altered.volume[i] *= 7
    before = calibrate_fold(candidates(original), T0, train_end, CONFIG)
    after = calibrate_fold(candidates(altered), T0, train_end, CONFIG)
    assert [(h.train_theta, h.train_trades, h.dead) for h in before.hours] == [
        (h.train_theta, h.train_trades, h.dead) for h in after.hours
    ]
    assert before.psi == after.psi
    assert any(h.train_theta is not None for h in before.hours)
    assert [h.oos_trades for h in before.hours] != [h.oos_trades for h in after.hours]  # the OOS did change
