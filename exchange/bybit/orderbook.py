"""A local L50 order book fed by Bybit snapshot/delta pushes, with ``u``/``seq`` gap detection (D-02).

Rules (https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook):
- a snapshot replaces the book; so does any message whose ``u`` is 1 (Bybit restarted the service);
- a delta must carry ``u == previous u + 1``: a smaller ``u`` is a duplicate or a late message and is
  dropped, a larger one is a gap — the book marks itself unsynced and the session resyncs from REST;
- ``seq`` (the cross sequence) must not go backwards between consecutive updates.

Levels are kept in plain dicts keyed by the Decimal price (the same objects the parser made: no per-level
copies); best bid/ask are maintained incrementally so top-of-book is O(1) on the hot path.

``apply_raw_delta`` is the feed's fast path for the steady state (book synced, next ``u``): it writes the
levels straight from Bybit's ``[["price", "size"], ...]`` lists into the dicts, building per-level tuples
only when the caller wants them for an event. It must leave the book exactly as ``apply`` of the parsed
``BookDelta`` would (tests/exchange/bybit/test_bybit_book_fast_path.py proves it on random sequences).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from exchange.bybit.events import BookDelta, BookSnapshot, Level

__all__ = ["ApplyResult", "OrderBookL50"]


class ApplyResult(enum.Enum):
    """What ``OrderBookL50.apply`` did with an update."""

    APPLIED = "applied"
    RESET = "reset"
    DUPLICATE = "duplicate"
    GAP = "gap"


def _best_of(side: dict[Decimal, Decimal], higher_is_better: bool) -> Decimal | None:
    """Return the best price of ``side`` by a full scan, or ``None`` when it is empty."""
    if not side:
        return None
    return max(side) if higher_is_better else min(side)


def _apply_side(
    side: dict[Decimal, Decimal], levels: tuple[Level, ...], best: Decimal | None, higher_is_better: bool
) -> Decimal | None:
    """Apply ``levels`` to ``side`` and return the new best price."""
    dirty = False
    for p, q in levels:
        if q:
            side[p] = q
            if not dirty and (best is None or (p > best if higher_is_better else p < best)):
                best = p
        elif side.pop(p, None) is not None and p == best:
            dirty = True
    return _best_of(side, higher_is_better) if dirty else best


_D = Decimal
_ZERO = Decimal(0)
_BIG = Decimal("1e30")


def _apply_raw_side(
    side: dict[Decimal, Decimal],
    raw: Iterable[Any],
    best: Decimal | None,
    higher_is_better: bool,
    out: list[Level] | None,
) -> Decimal | None:
    """Parse, check and apply raw ``[price, size]`` pairs in one pass; return the new best price.

    Raises ``ValueError``/``TypeError``/``ArithmeticError`` on a malformed level, possibly after earlier
    levels were applied: the caller must then invalidate the book.
    """
    dirty = False
    for p, q in raw:
        price = _D(p)
        size = _D(q)
        if not (_ZERO < price < _BIG and _ZERO <= size < _BIG):
            raise ValueError(f"expected a positive price and non-negative size, got {p} / {q}")
        if out is not None:
            out.append((price, size))
        if size:
            side[price] = size
            if not dirty and (best is None or (price > best if higher_is_better else price < best)):
                best = price
        elif side.pop(price, None) is not None and price == best:
            dirty = True
    return _best_of(side, higher_is_better) if dirty else best


class OrderBookL50:
    """One symbol's L50 book; not thread-safe (lives in the trio thread)."""

    __slots__ = ("_ask", "_asks", "_bid", "_bids", "depth_limit", "seq", "symbol", "synced", "ts", "u")

    def __init__(self, symbol: str, depth_limit: int = 50) -> None:
        self.symbol = symbol
        self.depth_limit = depth_limit
        self._bids: dict[Decimal, Decimal] = {}
        self._asks: dict[Decimal, Decimal] = {}
        self._bid: Decimal | None = None
        self._ask: Decimal | None = None
        self.u = 0
        self.seq = 0
        self.ts = 0
        self.synced = False

    def apply(self, update: BookSnapshot | BookDelta) -> ApplyResult:
        """Apply a snapshot or delta and say whether it was applied, a reset, a duplicate or a gap."""
        if type(update) is BookSnapshot or update.u == 1:
            self._load(update)
            return ApplyResult.RESET
        if not self.synced:
            return ApplyResult.GAP
        refused = self._refuse(update.u, update.seq)
        if refused is not None:
            return refused
        self._bid = _apply_side(self._bids, update.bids, self._bid, True)
        self._ask = _apply_side(self._asks, update.asks, self._ask, False)
        self._advance(update.u, update.seq, update.ts)
        return ApplyResult.APPLIED

    def apply_raw_delta(
        self, raw_bids: Iterable[Any], raw_asks: Iterable[Any], u: int, seq: int, ts: int, *, collect: bool
    ) -> tuple[ApplyResult, tuple[Level, ...], tuple[Level, ...]]:
        """Apply a delta given as Bybit's raw level lists (the fast path; see the module docstring).

        Returns the result and, when ``collect`` and applied, the parsed bid and ask levels (else empty).
        A ``u`` of 1 or an unsynced book are the caller's business (use ``apply`` of a parsed event).

        Raises:
            ValueError, TypeError, ArithmeticError: a level is malformed; the book is then marked unsynced.
        """
        refused = self._refuse(u, seq)
        if refused is not None:
            return refused, (), ()
        bids: list[Level] | None = [] if collect else None
        asks: list[Level] | None = [] if collect else None
        try:
            self._bid = _apply_raw_side(self._bids, raw_bids, self._bid, True, bids)
            self._ask = _apply_raw_side(self._asks, raw_asks, self._ask, False, asks)
        except BaseException:
            self.synced = False
            raise
        self._advance(u, seq, ts)
        if bids is None or asks is None:
            return ApplyResult.APPLIED, (), ()
        return ApplyResult.APPLIED, tuple(bids), tuple(asks)

    def _refuse(self, u: int, seq: int) -> ApplyResult | None:
        """Return ``DUPLICATE`` or ``GAP`` (then the book is unsynced) unless ``u``/``seq`` follow on."""
        if u <= self.u:
            return ApplyResult.DUPLICATE
        if u != self.u + 1 or (seq and seq < self.seq):
            self.synced = False
            return ApplyResult.GAP
        return None

    def _advance(self, u: int, seq: int, ts: int) -> None:
        """Record an applied delta's ids and time; trim the book when it grew past twice its depth."""
        self.u = u
        if seq:
            self.seq = seq
        self.ts = ts
        if len(self._bids) > 2 * self.depth_limit or len(self._asks) > 2 * self.depth_limit:
            self._trim()

    def invalidate(self) -> None:
        """Mark the book unsynced (e.g. after a disconnect) so deltas wait for a snapshot."""
        self.synced = False

    def _load(self, update: BookSnapshot | BookDelta) -> None:
        self._bids = {p: q for p, q in update.bids if q}
        self._asks = {p: q for p, q in update.asks if q}
        self._bid = _best_of(self._bids, True)
        self._ask = _best_of(self._asks, False)
        self.u = update.u
        self.seq = update.seq
        self.ts = update.ts
        self.synced = True

    def _trim(self) -> None:
        keep = self.depth_limit
        self._bids = dict(sorted(self._bids.items(), reverse=True)[:keep])
        self._asks = dict(sorted(self._asks.items())[:keep])

    @property
    def best_bid(self) -> Level | None:
        """Return the best (highest) bid as ``(price, size)``."""
        p = self._bid
        return None if p is None else (p, self._bids[p])

    @property
    def best_ask(self) -> Level | None:
        """Return the best (lowest) ask as ``(price, size)``."""
        p = self._ask
        return None if p is None else (p, self._asks[p])

    def top_of_book(self) -> tuple[Level | None, Level | None]:
        """Return ``(best_bid, best_ask)``."""
        return self.best_bid, self.best_ask

    def mid(self) -> Decimal | None:
        """Return the mid price, or ``None`` while a side is empty."""
        if self._bid is None or self._ask is None:
            return None
        return (self._bid + self._ask) / 2

    def depth(self, levels: int | None = None) -> tuple[list[Level], list[Level]]:
        """Return up to ``levels`` (default the depth limit) bids descending and asks ascending."""
        n = self.depth_limit if levels is None else levels
        bids = sorted(self._bids.items(), reverse=True)[:n]
        asks = sorted(self._asks.items())[:n]
        return bids, asks

    def to_snapshot(self) -> BookSnapshot:
        """Return the current book as an immutable snapshot event."""
        bids, asks = self.depth()
        return BookSnapshot(self.symbol, tuple(bids), tuple(asks), self.u, self.seq, self.ts, None)
