"""An L50 order book on integer ticks and integer qty steps, with Bybit-style snapshot/delta bookkeeping.

Prices are kept as tick counts and sizes as qty-step counts so every level is exact; they become ``Decimal``
strings only on the wire. The book remembers what it last published, so :meth:`L50Book.diff` yields exactly
the levels a Bybit ``orderbook.50`` delta carries (changed levels, and removed levels with size ``"0"``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from exchange.simulator.instruments import SymbolSpec

__all__ = ["DEPTH", "BookDiff", "L50Book", "Level"]

DEPTH = 50

Level = tuple[int, int]  # (price in ticks, size in qty steps)


@dataclass(frozen=True, slots=True)
class BookDiff:
    """Levels changed since the last publication; a size of 0 removes the level."""

    bids: list[Level]
    asks: list[Level]

    def __bool__(self) -> bool:
        return bool(self.bids or self.asks)


class L50Book:
    """Keep 50 bid and 50 ask levels around a moving mid price.

    Args:
        spec: the instrument (tick size, qty step, typical level notional).
        rng: the market's seeded random source.
    """

    def __init__(self, spec: SymbolSpec, rng: random.Random) -> None:
        self._spec = spec
        self._rng = rng
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self._pub_bids: dict[int, int] = {}
        self._pub_asks: dict[int, int] = {}
        price = float(spec.start_price)
        self.base_steps = max(1, int(float(spec.level_notional) / (price * float(spec.qty_step))))

    # ----------------------------------------------------------------------------- shape
    def _random_size(self) -> int:
        return max(1, int(self.base_steps * self._rng.lognormvariate(0.0, 0.8)))

    def reshape(self, mid_ticks: int, spread_ticks: int, churn: float) -> None:
        """Re-centre the ladders on ``mid_ticks``; keep surviving sizes, re-draw about ``churn`` of them."""
        best_bid = mid_ticks - spread_ticks // 2
        best_ask = best_bid + max(1, spread_ticks)
        self.bids = self._ladder(self.bids, range(best_bid, best_bid - DEPTH, -1), churn)
        self.asks = self._ladder(self.asks, range(best_ask, best_ask + DEPTH), churn)

    def _ladder(self, old: dict[int, int], prices: range, churn: float) -> dict[int, int]:
        fresh: dict[int, int] = {}
        rnd = self._rng.random
        for price in prices:
            size = old.get(price)
            if size is None or rnd() < churn:
                size = self._random_size()
            fresh[price] = size
        return fresh

    # ----------------------------------------------------------------------------- read
    def best_bid(self) -> int | None:
        """Return the best bid in ticks, or None when the side is empty."""
        return max(self.bids) if self.bids else None

    def best_ask(self) -> int | None:
        """Return the best ask in ticks, or None when the side is empty."""
        return min(self.asks) if self.asks else None

    def published(self, limit: int = DEPTH) -> tuple[list[Level], list[Level]]:
        """Return the last published state: bids best-first, asks best-first, at most ``limit`` each."""
        bids = sorted(self._pub_bids.items(), key=lambda lv: -lv[0])[:limit]
        asks = sorted(self._pub_asks.items())[:limit]
        return bids, asks

    # ----------------------------------------------------------------------------- publish
    def diff(self) -> BookDiff:
        """Return the changes since the last publication and mark the current state as published."""
        result = BookDiff(_side_diff(self._pub_bids, self.bids), _side_diff(self._pub_asks, self.asks))
        self._pub_bids = dict(self.bids)
        self._pub_asks = dict(self.asks)
        return result

    def mark_published(self) -> None:
        """Treat the current state as published (after a snapshot)."""
        self._pub_bids = dict(self.bids)
        self._pub_asks = dict(self.asks)

    # ----------------------------------------------------------------------------- trade
    def take(self, buy: bool, limit_ticks: int | None, qty_steps: int) -> list[Level]:
        """Consume liquidity like a taker; return the fills as (price ticks, qty steps), best price first.

        Args:
            buy: True to lift asks, False to hit bids.
            limit_ticks: worst acceptable price, or None for no limit.
            qty_steps: quantity wanted.
        """
        side = self.asks if buy else self.bids
        prices = sorted(side) if buy else sorted(side, reverse=True)
        fills: list[Level] = []
        left = qty_steps
        for price in prices:
            if left <= 0:
                break
            if limit_ticks is not None and (
                (buy and price > limit_ticks) or (not buy and price < limit_ticks)
            ):
                break
            size = side[price]
            got = min(size, left)
            fills.append((price, got))
            left -= got
            if got == size:
                del side[price]
            else:
                side[price] = size - got
        return fills

    def available(self, buy: bool, limit_ticks: int) -> int:
        """Return the size a taker could get at ``limit_ticks`` or better without consuming it."""
        if buy:
            return sum(s for p, s in self.asks.items() if p <= limit_ticks)
        return sum(s for p, s in self.bids.items() if p >= limit_ticks)


def _side_diff(before: dict[int, int], after: dict[int, int]) -> list[Level]:
    changes = [(p, s) for p, s in after.items() if before.get(p) != s]
    changes.extend((p, 0) for p in before if p not in after)
    return changes
