"""Repository of confirmed 5m candles (P-06, D-01): idempotent upsert, exact ``Decimal`` round trip."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from storage.database import Database

__all__ = ["CandleLike", "KlineRepository", "StoredKline"]


class CandleLike(Protocol):
    """What ``upsert`` reads from a candle; ``strategy_core.ConfirmedCandle`` satisfies it."""

    @property
    def symbol(self) -> str: ...
    @property
    def start(self) -> datetime: ...
    @property
    def open(self) -> Decimal: ...
    @property
    def high(self) -> Decimal: ...
    @property
    def low(self) -> Decimal: ...
    @property
    def close(self) -> Decimal: ...
    @property
    def volume(self) -> Decimal: ...
    @property
    def turnover(self) -> Decimal: ...


@dataclass(frozen=True, slots=True)
class StoredKline:
    """A candle as stored in ``klines_5m`` (``start`` is the interval start, UTC)."""

    symbol: str
    start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    turnover: Decimal


# A re-delivered candle (WS replay, REST back-fill) overwrites the stored values: the newest copy wins.
_UPSERT = """
    INSERT INTO klines_5m (symbol, open_time, open, high, low, close, volume, turnover, source)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
    ON CONFLICT (symbol, open_time) DO UPDATE SET
        open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close,
        volume = EXCLUDED.volume, turnover = EXCLUDED.turnover, source = EXCLUDED.source,
        ingested_at = now()
"""

_LAST_N = """
    SELECT symbol, open_time, open, high, low, close, volume, turnover
    FROM klines_5m WHERE symbol = $1 ORDER BY open_time DESC LIMIT $2
"""


class KlineRepository:
    """Explicit SQL over ``klines_5m``; statements are prepared and cached by asyncpg."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def upsert(self, candles: Iterable[CandleLike], *, source: str = "ws") -> int:
        """Insert or overwrite ``candles`` (idempotent on ``(symbol, start)``); return how many were given."""
        rows = [
            (c.symbol, c.start, c.open, c.high, c.low, c.close, c.volume, c.turnover, source) for c in candles
        ]
        if rows:
            await self._db.executemany(_UPSERT, rows)
        return len(rows)

    async def last_n(self, symbol: str, n: int) -> list[StoredKline]:
        """Return the newest ``n`` candles of ``symbol`` in chronological order (oldest first)."""
        if n <= 0:
            return []
        records = await self._db.fetch(_LAST_N, symbol, n)
        return [
            StoredKline(
                symbol=r["symbol"], start=r["open_time"], open=r["open"], high=r["high"], low=r["low"],
                close=r["close"], volume=r["volume"], turnover=r["turnover"],
            )
            for r in reversed(records)
        ]

    async def count(self, symbol: str) -> int:
        """Return how many candles of ``symbol`` are stored."""
        return int(await self._db.fetchval("SELECT count(*) FROM klines_5m WHERE symbol = $1", symbol))
