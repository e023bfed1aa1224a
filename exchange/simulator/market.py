"""One symbol's synthetic (or replayed) market: price process with regimes, bars, trades, funding, book.

The price follows a log random walk whose character changes between three regimes (trending, ranging,
volatile). Exchange time advances in sub-steps of at most five seconds, so an accelerated clock still builds
every 5-minute bar from many prices and closes each bar exactly once.
"""

from __future__ import annotations

import math
import random
import zlib
from dataclasses import dataclass, field
from decimal import Decimal

from exchange.simulator.book import L50Book
from exchange.simulator.instruments import SymbolSpec
from exchange.simulator.replay import BAR_MS, CsvBar

__all__ = ["Bar", "Market", "PublicTrade", "StepResult"]

SUBSTEP_MS = 5_000
HISTORY_SUBSTEP_MS = 60_000
REGIMES = ("trending", "ranging", "volatile")
FUNDING_CAP = Decimal("0.00375")


@dataclass(slots=True)
class Bar:
    """A 5-minute bar in ticks and qty steps (turnover in USDT)."""

    start_ms: int
    open: int
    high: int
    low: int
    close: int
    volume: int = 0
    turnover: Decimal = Decimal(0)

    def add(self, price: int, steps: int, spec: SymbolSpec) -> None:
        """Record a price (and traded steps) in the bar."""
        self.high = max(self.high, price)
        self.low = min(self.low, price)
        self.close = price
        if steps:
            self.volume += steps
            self.turnover += spec.price_of(price) * spec.qty_of(steps)


@dataclass(frozen=True, slots=True)
class PublicTrade:
    """One print on the public tape."""

    time_ms: int
    buy: bool
    price: int
    size: int
    trade_id: str
    seq: int


@dataclass(slots=True)
class StepResult:
    """What changed in one market step."""

    closed: list[Bar] = field(default_factory=list)
    bar_changed: bool = False
    trades: list[PublicTrade] = field(default_factory=list)
    fundings: list[int] = field(default_factory=list)  # settlement times crossed (exchange ms)


class Market:
    """Simulate one symbol.

    Args:
        spec: the instrument.
        seed: the venue seed (mixed with the symbol so every symbol differs).
        start_ms: exchange time of the first live bar.
        history_bars: closed bars to generate before ``start_ms``.
        funding_interval_ms: funding period.
        replay: bars to replay instead of the synthetic process.
    """

    def __init__(  # noqa: PLR0917 - built in one place, by the server
        self,
        spec: SymbolSpec,
        seed: int,
        start_ms: int,
        history_bars: int,
        funding_interval_ms: int,
        replay: list[CsvBar] | None = None,
    ) -> None:
        self.spec = spec
        self.rng = random.Random(seed * 1_000_003 + zlib.crc32(spec.symbol.encode()))
        self.book = L50Book(spec, self.rng)
        self.regime = "ranging"
        self._trend = 1.0
        self.funding_interval_ms = funding_interval_ms
        self.funding_rate = Decimal("0.0001")
        self.u = 0
        self.seq = self.rng.randrange(10**9, 10**10)
        self._trade_seq = self.rng.randrange(10**9, 10**10)
        self.open_interest = spec.qty_of(self.book.base_steps * 400)
        self.bars: list[Bar] = []
        # Closed bars kept for ``klines``: the generated history and 5000 more (trimmed 1000 at a time).
        self._keep = history_bars + 5000
        self._replay = {b.start_ms: b for b in replay} if replay else None
        self._replay_last = replay[-1] if replay else None
        first = (start_ms // BAR_MS) * BAR_MS - history_bars * BAR_MS
        self._x = math.log(float(spec.start_price))
        self._anchor = self._x
        self.last = self._ticks_of_x()
        self.bar = Bar(first, self.last, self.last, self.last, self.last)
        self.now_ms = first
        self.next_funding_ms = self._next_funding(first)
        self.advance(start_ms, HISTORY_SUBSTEP_MS)
        self.book.reshape(self.last, 1, 1.0)
        self.book.mark_published()
        self.u = 1

    # ----------------------------------------------------------------------------- helpers
    def _ticks_of_x(self) -> int:
        return max(1, round(math.exp(self._x) / float(self.spec.tick_size)))

    def _next_funding(self, now_ms: int) -> int:
        period = self.funding_interval_ms
        return (now_ms // period + 1) * period

    def _ticks(self, price: Decimal) -> int:
        return max(1, int((price / self.spec.tick_size).to_integral_value()))

    # ----------------------------------------------------------------------------- process
    def advance(self, to_ms: int, substep_ms: int = SUBSTEP_MS) -> StepResult:
        """Move exchange time to ``to_ms``: evolve the price, close bars, cross funding times."""
        result = StepResult()
        while self.now_ms < to_ms:
            bar_end = self.bar.start_ms + BAR_MS
            stop = min(to_ms, self.now_ms + substep_ms, bar_end, self.next_funding_ms)
            dt_ms = stop - self.now_ms
            self._move(dt_ms, stop)
            self.now_ms = stop
            result.bar_changed = True
            if stop >= self.next_funding_ms:
                result.fundings.append(self.next_funding_ms)
                self.next_funding_ms += self.funding_interval_ms
            if stop >= bar_end:
                closed = self._close_bar()
                result.closed.append(closed)
                self.bars.append(closed)
                if len(self.bars) > self._keep + 1000:
                    del self.bars[:1000]
                self.bar = Bar(bar_end, self.last, self.last, self.last, self.last)
        return result

    def _move(self, dt_ms: int, at_ms: int) -> None:
        dt = dt_ms / 1000.0
        rng = self.rng
        if self._replay is not None:
            self.last = self._replay_price(at_ms)
        else:
            if rng.random() < dt / 3600.0:
                self.regime = rng.choice(REGIMES)
                self._trend = rng.choice((-1.0, 1.0))
                self._anchor = self._x
            sigma = self.spec.bar_volatility / math.sqrt(300.0)
            drift = 0.0
            if self.regime == "trending":
                drift = self._trend * self.spec.bar_volatility * 0.35 / 300.0
            elif self.regime == "ranging":
                drift = -(self._x - self._anchor) / 1800.0
            else:
                sigma *= 2.5
            self._x += drift * dt + sigma * math.sqrt(dt) * rng.gauss(0.0, 1.0)
            self.last = self._ticks_of_x()
        steps = int(self.book.base_steps * dt / 20.0 * rng.lognormvariate(0.0, 0.7))
        self.bar.add(self.last, steps, self.spec)
        rate = self.funding_rate + Decimal(str(round(rng.gauss(0.0, 0.000002) * dt, 8)))
        self.funding_rate = max(-FUNDING_CAP, min(FUNDING_CAP, rate)).quantize(Decimal("0.000001"))

    def _replay_price(self, at_ms: int) -> int:
        assert self._replay is not None
        assert self._replay_last is not None
        start = (at_ms // BAR_MS) * BAR_MS
        bar = self._replay.get(start)
        if bar is None:
            if at_ms >= self._replay_last.start_ms:
                return self._ticks(self._replay_last.close)
            return self.last
        frac = (at_ms - start) / BAR_MS
        first, second = (bar.low, bar.high) if bar.close >= bar.open else (bar.high, bar.low)
        points = (bar.open, first, second, bar.close)
        pos = min(frac * 3.0, 2.999999)
        i = int(pos)
        a, b = float(points[i]), float(points[i + 1])
        return self._ticks(Decimal(str(a + (b - a) * (pos - i))))

    def _close_bar(self) -> Bar:
        bar = self.bar
        if self._replay is not None:
            src = self._replay.get(bar.start_ms)
            if src is not None:
                bar.open, bar.high = self._ticks(src.open), self._ticks(src.high)
                bar.low, bar.close = self._ticks(src.low), self._ticks(src.close)
                bar.volume = int((src.volume / self.spec.qty_step).to_integral_value())
                bar.turnover = src.turnover if src.turnover is not None else src.volume * src.close
                self.last = bar.close
        return bar

    # ----------------------------------------------------------------------------- live step
    def step(self, to_ms: int) -> StepResult:
        """Advance to ``to_ms`` and refresh the book and the tape (one publication's worth)."""
        moved = to_ms > self.now_ms
        result = self.advance(to_ms)
        if not moved:
            return result
        volatile = self.regime == "volatile"
        spread = self.rng.choice((1, 2, 3)) if volatile else (1 if self.rng.random() < 0.85 else 2)
        self.book.reshape(self.last, spread, 0.08)
        for _ in range(self.rng.randint(1, 3)):
            buy = self.rng.random() < 0.5
            best = self.book.best_ask() if buy else self.book.best_bid()
            size = max(1, int(self.book.base_steps * self.rng.random() * 0.2))
            self._trade_seq += 1
            trade_id = f"{self.rng.getrandbits(128):032x}"
            result.trades.append(
                PublicTrade(
                    self.now_ms, buy, best if best is not None else self.last, size, trade_id, self._trade_seq
                )
            )
        return result

    def jump(self, price: Decimal) -> None:
        """Move the price to ``price`` at once (a test's gap): the book re-centres on it, the current bar
        records it, and the next steps of the walk start from there (nearest tick)."""
        self.last = self._ticks(price)
        self._x = self._anchor = math.log(float(self.spec.price_of(self.last)))
        self.book.reshape(self.last, 1, 1.0)
        self.bar.add(self.last, 0, self.spec)

    # ----------------------------------------------------------------------------- inspection
    def mid(self) -> Decimal:
        """Return the mid price of the current book (last price if a side is empty)."""
        bid, ask = self.book.best_bid(), self.book.best_ask()
        if bid is None or ask is None:
            return self.spec.price_of(self.last)
        return (self.spec.price_of(bid) + self.spec.price_of(ask)) / 2

    def last_price(self) -> Decimal:
        """Return the last traded price."""
        return self.spec.price_of(self.last)

    def klines(self, start_ms: int | None, end_ms: int | None, limit: int) -> list[Bar]:
        """Return bars (closed ones and the current one) within [start, end], newest first."""
        chosen: list[Bar] = []
        for bar in reversed([*self.bars, self.bar]):
            if end_ms is not None and bar.start_ms > end_ms:
                continue
            if start_ms is not None and bar.start_ms < start_ms:
                break
            chosen.append(bar)
            if len(chosen) >= limit:
                break
        return chosen
