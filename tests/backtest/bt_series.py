"""A seeded 5m series with trending stretches for the backtest tests (every price on a 0.01 tick)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from strategy_core import ConfirmedCandle

T0 = datetime(2024, 3, 1, tzinfo=UTC)
FIVE = timedelta(minutes=5)


def trending_walk(bars: int, *, seed: int, symbol: str = "BTCUSDT") -> list[ConfirmedCandle]:
    """Return ``bars`` candles: a random walk whose drift flips every 200 bars (in cents)."""
    rng = random.Random(seed)
    out: list[ConfirmedCandle] = []
    price = 10_000  # cents: 100.00
    for i in range(bars):
        drift = 60 if (i // 200) % 2 == 0 else -60
        o = price
        c = max(1000, o + drift + rng.randint(-900, 900))
        h = max(o, c) + rng.randint(0, 300)
        lo = min(o, c) - rng.randint(0, 300)
        start = T0 + FIVE * i
        volume = Decimal(rng.randint(5, 50))
        out.append(
            ConfirmedCandle(
                symbol=symbol,
                start=start,
                end=start + FIVE,
                open=Decimal(o) / 100,
                high=Decimal(h) / 100,
                low=Decimal(lo) / 100,
                close=Decimal(c) / 100,
                volume=volume,
                turnover=volume * c / 100,
            )
        )
        price = c
    return out
