"""Micro-benchmark of the pure per-bar strategy work: indicator fold + AVI-5 rules.

Runs standalone (``.venv/bin/python bench/strategy.py``). For a seeded random-walk 5m series it measures,
per bar:
- ``stream``: ``IndicatorState.fold`` + ``apply_avi5`` (the IndicatorActor + SignalActor path);
- ``batch``:  ``derive_15m`` + ``evaluate_avi5`` over the last 300 candles (the backtest / cold path).
Prints medians and p99 in milliseconds; the last line is one JSON object.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

# Run from a checkout without relying on how the package was installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from strategy_core import (
    AVI5Config,
    BookTop,
    ConfirmedCandle,
    IndicatorState,
    InstrumentRules,
    ThetaMap,
    TickerState,
    apply_avi5,
    derive_15m,
    evaluate_avi5,
)

SEED = 20240101
BARS = 3000
BATCH_WINDOW = 300
T0 = datetime(2024, 1, 1, tzinfo=UTC)
FIVE = timedelta(minutes=5)
INSTRUMENT = InstrumentRules(tick_size=Decimal("0.1"), qty_step=Decimal("0.001"), min_qty=Decimal("0.001"))
ONE_R = Decimal(25)  # 1R in USD, the default of risk.risk_per_trade_usd


def make_series(rng: random.Random) -> list[ConfirmedCandle]:
    """Return a seeded random walk of 5m candles with prices on a 0.1 tick."""
    out: list[ConfirmedCandle] = []
    price = 600_000  # in ticks of 0.1
    for i in range(BARS):
        o = price
        c = max(10, o + rng.randint(-300, 300))
        h = max(o, c) + rng.randint(0, 150)
        lo = min(o, c) - rng.randint(0, 150)
        start = T0 + FIVE * i
        out.append(
            ConfirmedCandle(
                symbol="BTCUSDT",
                start=start,
                end=start + FIVE,
                open=Decimal(o) / 10,
                high=Decimal(h) / 10,
                low=Decimal(lo) / 10,
                close=Decimal(c) / 10,
                volume=Decimal(rng.randint(1, 10**6)) / 1000,
                turnover=Decimal(0),
            )
        )
        price = c
    return out


def market(candle: ConfirmedCandle, rng: random.Random) -> tuple[BookTop, TickerState, datetime]:
    """Return a book top, ticker and ``now`` just after the candle closed."""
    now = candle.end + timedelta(seconds=1)
    book = BookTop(
        symbol=candle.symbol,
        bid=candle.close,
        ask=candle.close + Decimal("0.1"),
        bid_qty=Decimal(rng.randint(1, 50)),
        ask_qty=Decimal(rng.randint(1, 50)),
        imbalance=Decimal(rng.randint(-100, 100)) / 100,
        ts=now,
    )
    ticker = TickerState(
        symbol=candle.symbol, mark_price=candle.close, next_funding_time=now + timedelta(hours=1), ts=now
    )
    return book, ticker, now


def pct(samples: list[float], q: float) -> float:
    """Return the q-quantile (0..1) of the samples, nearest rank."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    """Run both measurements and print the summary."""
    rng = random.Random(SEED)
    config, theta = AVI5Config(), ThetaMap()
    series = make_series(rng)
    state = IndicatorState("BTCUSDT", config)
    stream_ms: list[float] = []
    signals = 0
    for candle in series:
        book, ticker, now = market(candle, rng)
        t = time.perf_counter()
        snapshot = state.fold(candle)
        if snapshot is not None:
            decision = apply_avi5(
                snapshot,
                book=book,
                ticker=ticker,
                theta_map=theta,
                config=config,
                now=now,
                instrument=INSTRUMENT,
                risk_per_trade_usd=ONE_R,
            )
            signals += decision.passed
        dt = (time.perf_counter() - t) * 1000
        if snapshot is not None:
            stream_ms.append(dt)
    batch_ms: list[float] = []
    for end in range(BATCH_WINDOW, BARS, 5):
        window = series[end - BATCH_WINDOW : end]
        book, ticker, now = market(window[-1], rng)
        t = time.perf_counter()
        evaluate_avi5(
            window,
            derive_15m(window),
            book=book,
            ticker=ticker,
            theta_map=theta,
            config=config,
            now=now,
            instrument=INSTRUMENT,
            risk_per_trade_usd=ONE_R,
        )
        batch_ms.append((time.perf_counter() - t) * 1000)
    result = {
        "bars": len(stream_ms),
        "signals": signals,
        "stream_per_bar_p50_ms": round(statistics.median(stream_ms), 4),
        "stream_per_bar_p99_ms": round(pct(stream_ms, 0.99), 4),
        "batch_300_p50_ms": round(statistics.median(batch_ms), 4),
        "batch_300_p99_ms": round(pct(batch_ms, 0.99), 4),
        "batch_samples": len(batch_ms),
    }
    for key, value in result.items():
        print(f"{key}: {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
