"""What AVI-5 sees of the book and ticker after a replayed bar: a recorded L50 top, or the stated assumption.

``BookContext`` is the ``MarketContext`` of a replay. With recorded tops (research mode, D-04) the newest one
at most ``max_book_age_s`` before the bar's end is used; otherwise the book is approximated as described by
``BookAssumptions`` and counted, so the report says how many bars used which. The ticker's next funding time
is the next 8-hour instant (00, 08, 16 UTC) after the bar's end, so the funding condition is exact.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from backtest.config import BookAssumptions
from strategy_core import (
    BookTop,
    IndicatorSet,
    InstrumentRules,
    TickerState,
    round_down_to_step,
    round_up_to_step,
)

__all__ = ["BookContext", "next_funding_time"]

_EIGHT_HOURS = 8 * 3600


def next_funding_time(now: datetime) -> datetime:
    """Return the first funding instant (a multiple of 8 h since the epoch) strictly after ``now``."""
    seconds = int(now.timestamp())
    return datetime.fromtimestamp((seconds // _EIGHT_HOURS + 1) * _EIGHT_HOURS, tz=UTC)


class BookContext:
    """Book and ticker per bar: recorded tops when one is fresh enough, else the approximation."""

    def __init__(
        self,
        assumptions: BookAssumptions,
        instrument: InstrumentRules,
        *,
        recorded: Sequence[BookTop] = (),
        max_book_age_s: int = 10,
    ) -> None:
        self.assumptions = assumptions
        self.instrument = instrument
        self._recorded = sorted(recorded, key=lambda b: b.ts)
        self._stamps = [b.ts for b in self._recorded]
        self._max_age = timedelta(seconds=max_book_age_s)
        self.recorded_used = 0
        self.approximated = 0

    def _recorded_at(self, now: datetime) -> BookTop | None:
        if not self._stamps:
            return None
        i = bisect.bisect_right(self._stamps, now)
        if i == 0:
            return None
        top = self._recorded[i - 1]
        return top if now - top.ts <= self._max_age else None

    def _approximate(self, symbol: str, close: Decimal, bar_end: datetime, *, above_vwap: bool) -> BookTop:
        a, tick = self.assumptions, self.instrument.tick_size
        half = close * a.spread_bps / Decimal(20_000)
        bid = round_down_to_step(close - half, tick)
        ask = max(round_up_to_step(close + half, tick), bid + tick)
        return BookTop(
            symbol=symbol,
            bid=bid,
            ask=ask,
            bid_qty=Decimal(3) if above_vwap else Decimal(1),
            ask_qty=Decimal(1) if above_vwap else Decimal(3),
            imbalance=a.imbalance if above_vwap else -a.imbalance,
            ts=bar_end,
            depth_usd=a.depth_usd,
        )

    def at(
        self, symbol: str, close: Decimal, bar_end: datetime, *, above_vwap: bool
    ) -> tuple[BookTop, TickerState]:
        """Return the book top and ticker AVI-5 sees at ``bar_end`` after a bar closing at ``close``; the
        approximated book leans the way the close lies from VWAP (``above_vwap``: close ≥ VWAP)."""
        top = self._recorded_at(bar_end)
        if top is None:
            self.approximated += 1
            top = self._approximate(symbol, close, bar_end, above_vwap=above_vwap)
        else:
            self.recorded_used += 1
        ticker = TickerState(
            symbol=symbol, mark_price=close, next_funding_time=next_funding_time(bar_end), ts=bar_end
        )
        return top, ticker

    def __call__(self, ind: IndicatorSet) -> tuple[BookTop, TickerState]:
        """Return the book top and ticker AVI-5 sees at the end of ``ind``'s bar."""
        return self.at(ind.symbol, ind.close, ind.bar_end, above_vwap=ind.close >= ind.vwap)
