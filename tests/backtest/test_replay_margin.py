"""The replay's float pre-check never contradicts the exact Decimal band (S-06): a bar it rules out has no
trigger on the trend's side, and a bar it calls certain has one — also on windows built to break floats
(prices of 10⁶ with a σ of one tick, flat windows, closes on the band's edge)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import example, given, settings
from hypothesis import strategies as st

from strategy_core import ConfirmedCandle
from strategy_core.indicators import vwap_band_of
from strategy_core.replay import _CERTAIN, _CLOSE_CALL, _NOT_CANDIDATE, _call

T0 = datetime(2024, 1, 1, tzinfo=UTC)
FIVE = timedelta(minutes=5)
WINDOW = 20


def _window(
    base: int, scale: int, moves: list[tuple[int, int, int, int]], last_close: int
) -> list[ConfirmedCandle]:
    """Return 20 candles around ``base`` ticks of 10^-scale; ``moves`` give (high, low, close, volume)
    offsets per candle; the last candle closes ``last_close`` ticks from ``base``."""
    tick = Decimal(1).scaleb(-scale)
    out = []
    for i, (up, down, close, volume) in enumerate(moves):
        c = base + (last_close if i == WINDOW - 1 else close)
        h, lo = max(c, base) + up, min(c, base) - down
        start = T0 + FIVE * i
        out.append(
            ConfirmedCandle(
                symbol="BTCUSDT", start=start, end=start + FIVE, open=base * tick, high=h * tick,
                low=lo * tick,
                close=c * tick, volume=Decimal(volume), turnover=Decimal(volume) * c * tick,
            )
        )  # fmt: skip
    return out


EDGE = [(0, 0, 0, 1)] * (WINDOW - 1) + [(0, 0, 0, 76)]
moves = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(-3, 3), st.integers(1, 50)),
    min_size=WINDOW,
    max_size=WINDOW,
)


@settings(max_examples=400)
@given(
    base=st.sampled_from([10**2, 10**6, 10**8, 10**10, 123_456_789]),
    scale=st.integers(0, 8),
    window_moves=moves,
    last_close=st.integers(-4, 4) | st.integers(-40, 40),
    theta=st.sampled_from([Decimal("0.15"), Decimal("0.35"), Decimal("0.5"), Decimal("0")]),
    trend=st.sampled_from([1, -1]),
)
@example(
    base=10**8, scale=2, window_moves=[(0, 0, 0, 1)] * WINDOW, last_close=1, theta=Decimal("0.35"), trend=1
)
@example(
    base=10**8, scale=2, window_moves=[(0, 0, 0, 1)] * WINDOW, last_close=0, theta=Decimal("0.35"), trend=1
)
def test_the_float_call_agrees_with_the_exact_band(
    base: int, scale: int, window_moves: list[tuple[int, int, int, int]], last_close: int, theta: Decimal,
    trend: int,
) -> None:  # fmt: skip
    candles = _window(base, scale, window_moves, last_close)
    tps = [(float(c.high) + float(c.low) + float(c.close)) / 3.0 for c in candles]
    volumes = [float(c.volume) for c in candles]
    close = candles[-1].close
    verdict = _call(float(close), float(theta), trend, tps, volumes)
    band = vwap_band_of(candles)
    long_trigger, short_trigger = close > band.upper(theta), close < band.lower(theta)
    on_trend = long_trigger if trend == 1 else short_trigger
    if verdict == _NOT_CANDIDATE:
        assert not on_trend, (band, close)
    elif verdict == _CERTAIN:
        assert on_trend, (band, close)
        assert (close >= band.vwap) is (trend == 1)  # the approximated book leans the trend's way
    else:
        assert verdict == _CLOSE_CALL
