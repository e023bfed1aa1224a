"""Small builders of strategy_core values for the tests of this room."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from strategy_core import BookTop, ConfirmedCandle, InstrumentRules, TickerState

T0 = datetime(2024, 1, 1, tzinfo=UTC)
FIVE = timedelta(minutes=5)
D = Decimal


def candle(
    i: int,
    *,
    high: str | Decimal,
    low: str | Decimal,
    close: str | Decimal,
    open_: str | Decimal | None = None,
    volume: str | Decimal = "1",
    symbol: str = "BTCUSDT",
    t0: datetime = T0,
) -> ConfirmedCandle:
    """Return the i-th 5m candle after ``t0``."""
    start = t0 + FIVE * i
    return ConfirmedCandle(
        symbol=symbol,
        start=start,
        end=start + FIVE,
        open=D(str(open_ if open_ is not None else close)),
        high=D(str(high)),
        low=D(str(low)),
        close=D(str(close)),
        volume=D(str(volume)),
        turnover=D(0),
    )


def trending(n: int, *, step: str, base: str = "100", symbol: str = "BTCUSDT") -> list[ConfirmedCandle]:
    """Return ``n`` 5m candles whose close moves by ``step`` each bar (high +0.05, low −0.15 around close)."""
    out = []
    for i in range(n):
        close = D(base) + D(step) * i
        prev = close - D(step)
        out.append(
            candle(
                i,
                open_=prev if D(step) > 0 else close + D("0.04"),
                high=max(close, prev) + D("0.05"),
                low=min(close, prev) - D("0.15"),
                close=close,
                volume=D(1) + D(i % 3),
                symbol=symbol,
            )
        )
    return out


def book(
    *,
    bid: str,
    ask: str,
    bid_qty: str = "5",
    ask_qty: str = "1",
    imbalance: str = "0.3",
    ts: datetime,
    symbol: str = "BTCUSDT",
) -> BookTop:
    """Return a book top."""
    return BookTop(
        symbol=symbol,
        bid=D(bid),
        ask=D(ask),
        bid_qty=D(bid_qty),
        ask_qty=D(ask_qty),
        imbalance=D(imbalance),
        ts=ts,
    )


def ticker(*, next_funding: datetime, ts: datetime, symbol: str = "BTCUSDT") -> TickerState:
    """Return a ticker state."""
    return TickerState(symbol=symbol, mark_price=D(100), next_funding_time=next_funding, ts=ts)


INSTRUMENT = InstrumentRules(tick_size=D("0.01"), qty_step=D("0.001"), min_qty=D("0.001"))


@st.composite
def candle_series(draw: st.DrawFn, min_size: int = 1, max_size: int = 60) -> list[ConfirmedCandle]:
    """Draw a valid, contiguous 5m series with 2-decimal prices and positive volumes."""
    n = draw(st.integers(min_value=min_size, max_value=max_size))
    cents = st.integers(min_value=1, max_value=10_000_000)
    out: list[ConfirmedCandle] = []
    offset = draw(st.integers(min_value=0, max_value=11))
    for i in range(n):
        a, b, c, d = sorted(draw(st.lists(cents, min_size=4, max_size=4)))
        o, cl = draw(st.permutations([b, c]))
        out.append(
            candle(
                offset + i,
                open_=D(o) / 100,
                high=D(d) / 100,
                low=D(a) / 100,
                close=D(cl) / 100,
                volume=D(draw(st.integers(min_value=1, max_value=10**9))) / 1000,
            )
        )
    return out


def closes(candles: Sequence[ConfirmedCandle]) -> list[Decimal]:
    """Return the closes."""
    return [c.close for c in candles]
