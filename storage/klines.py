"""Repository of confirmed 5m candles (P-06, D-01): idempotent upsert or insert-once, exact ``Decimal``.

Two write semantics: ``upsert`` overwrites a stored bar (back-fill, import: the newest copy wins);
``insert_new`` keeps the first copy (the live feed: a re-delivered bar changes nothing) and tells which rows
were new. ``insert_new`` goes through a :class:`storage.batching.GroupWriter`: the candles every symbol closes
at the same moment share one statement and one commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from storage.batching import GroupWriter, as_columns, first_new
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

# Insert-once (the live feed): one row, or a batch through unnest; RETURNING says which rows were new.
_INSERT_ONE = """
    INSERT INTO klines_5m (symbol, open_time, open, high, low, close, volume, turnover, confirmed, source)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, true, $9)
    ON CONFLICT (symbol, open_time) DO NOTHING
    RETURNING 1
"""
_INSERT_MANY = """
    INSERT INTO klines_5m (symbol, open_time, open, high, low, close, volume, turnover, confirmed, source)
    SELECT s, t, o, h, l, c, v, tv, true, src
    FROM unnest($1::text[], $2::timestamptz[], $3::numeric[], $4::numeric[], $5::numeric[], $6::numeric[],
                $7::numeric[], $8::numeric[], $9::text[]) AS x(s, t, o, h, l, c, v, tv, src)
    ON CONFLICT (symbol, open_time) DO NOTHING
    RETURNING symbol, open_time
"""

_BETWEEN = """
    SELECT symbol, open_time, open, high, low, close, volume, turnover
    FROM klines_5m WHERE symbol = $1 AND open_time >= $2 AND open_time < $3 ORDER BY open_time
"""
_BOUNDS = "SELECT min(open_time), max(open_time) FROM klines_5m WHERE symbol = $1"

_LATEST_OPEN = "SELECT max(open_time) FROM klines_5m WHERE symbol = ANY($1::text[])"

_OPEN_TIMES = """
    SELECT open_time FROM klines_5m
    WHERE symbol = $1 AND open_time >= $2 AND open_time < $3 ORDER BY open_time
"""

# A bar fetched over REST to fill a hole (D-02): the stored copy wins (a live close that got in first is the
# same bar); a new row is tagged ``rest_backfill`` with ``repaired_at``.
_INSERT_REPAIRED = """
    INSERT INTO klines_5m
        (symbol, open_time, open, high, low, close, volume, turnover, confirmed, source, repaired_at)
    SELECT s, t, o, h, l, c, v, tv, true, 'rest_backfill', now()
    FROM unnest($1::text[], $2::timestamptz[], $3::numeric[], $4::numeric[], $5::numeric[], $6::numeric[],
                $7::numeric[], $8::numeric[]) AS x(s, t, o, h, l, c, v, tv)
    ON CONFLICT (symbol, open_time) DO NOTHING
    RETURNING open_time
"""

# One row per hole: the latest outcome wins (a bar marked missing that a later pass repairs becomes repaired;
# a repaired bar never goes back to missing).
_RECORD_GAPS = """
    INSERT INTO kline_gaps (symbol, open_time, status, attempts, reason)
    SELECT $1, t, st, $4, $5 FROM unnest($2::timestamptz[], $3::text[]) AS x(t, st)
    ON CONFLICT (symbol, open_time) DO UPDATE SET
        status = CASE WHEN kline_gaps.status = 'repaired' THEN 'repaired' ELSE EXCLUDED.status END,
        resolved_at = now(), attempts = kline_gaps.attempts + EXCLUDED.attempts, reason = EXCLUDED.reason
"""

_GAPS = """
    SELECT open_time, status FROM kline_gaps WHERE symbol = $1 ORDER BY open_time
"""

_LAST_N = """
    SELECT symbol, open_time, open, high, low, close, volume, turnover
    FROM klines_5m WHERE symbol = $1 ORDER BY open_time DESC LIMIT $2
"""


SourcedCandle = tuple[CandleLike, str]


def _row(item: SourcedCandle) -> tuple[object, ...]:
    c, source = item
    return (c.symbol, c.start, c.open, c.high, c.low, c.close, c.volume, c.turnover, source)


class KlineRepository:
    """Explicit SQL over ``klines_5m``; statements are prepared and cached by asyncpg.

    ``writer`` batches concurrent ``insert_new`` calls while its ``run`` task is up (``open_storage``
    starts it).
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self.writer: GroupWriter[SourcedCandle, bool] = GroupWriter(
            "klines", self.insert_new_many, self._insert_one
        )

    async def insert_new(self, candle: CandleLike, *, source: str = "ws") -> bool:
        """Insert ``candle`` unless ``(symbol, start)`` is stored; return True when it was new."""
        return await self.writer.write((candle, source))

    async def insert_new_many(self, items: Sequence[SourcedCandle]) -> list[bool]:
        """Insert each ``(candle, source)`` not stored yet, in one statement; per item, True when new.

        A candle repeated within ``items`` is new at most once (the first time).
        """
        if not items:
            return []
        records = await self._db.fetch(_INSERT_MANY, *as_columns(_row(item) for item in items))
        keys = [(candle.symbol, candle.start) for candle, _ in items]
        return first_new(keys, {(r["symbol"], r["open_time"]) for r in records})

    async def _insert_one(self, item: SourcedCandle) -> bool:
        return await self._db.fetchval(_INSERT_ONE, *_row(item)) is not None

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

    async def insert_repaired(self, candles: Sequence[CandleLike]) -> int:
        """Store bars fetched over REST after a hole (``rest_backfill``, ``repaired_at``); return new rows.

        A bar already stored (a live close that arrived meanwhile) keeps its stored copy.
        """
        if not candles:
            return 0
        rows = as_columns(
            (c.symbol, c.start, c.open, c.high, c.low, c.close, c.volume, c.turnover) for c in candles
        )
        return len(await self._db.fetch(_INSERT_REPAIRED, *rows))

    async def record_gaps(
        self, symbol: str, outcomes: Sequence[tuple[datetime, str]], *, attempts: int, reason: str | None
    ) -> None:
        """Record the outcome (``repaired`` or ``missing``) of each hole of ``symbol`` in ``kline_gaps``."""
        if outcomes:
            starts, statuses = zip(*outcomes, strict=True)
            await self._db.execute(_RECORD_GAPS, symbol, list(starts), list(statuses), attempts, reason)

    async def gaps(self, symbol: str) -> list[tuple[datetime, str]]:
        """Return every recorded hole of ``symbol`` as ``(open_time, status)``, oldest first."""
        return [(r["open_time"], r["status"]) for r in await self._db.fetch(_GAPS, symbol)]

    async def between(self, symbol: str, start: datetime, end: datetime) -> list[StoredKline]:
        """Return the candles of ``symbol`` opening in [start, end), oldest first (backtest, calibration)."""
        records = await self._db.fetch(_BETWEEN, symbol, start, end)
        return [
            StoredKline(
                symbol=r["symbol"], start=r["open_time"], open=r["open"], high=r["high"], low=r["low"],
                close=r["close"], volume=r["volume"], turnover=r["turnover"],
            )
            for r in records
        ]  # fmt: skip

    async def open_times_between(self, symbol: str, start: datetime, end: datetime) -> list[datetime]:
        """Return the open times of ``symbol``'s stored candles in [start, end), oldest first (backfill)."""
        return [r["open_time"] for r in await self._db.fetch(_OPEN_TIMES, symbol, start, end)]

    async def bounds(self, symbol: str) -> tuple[datetime | None, datetime | None]:
        """Return the open times of the oldest and newest stored candle of ``symbol`` (backfill resumes)."""
        row = await self._db.fetchrow(_BOUNDS, symbol)
        return (None, None) if row is None else (row[0], row[1])

    async def latest_open(self, symbols: Iterable[str]) -> datetime | None:
        """Return the open time of the newest candle stored for any of ``symbols``, or None when none is."""
        latest: datetime | None = await self._db.fetchval(_LATEST_OPEN, list(symbols))
        return latest

    async def count(self, symbol: str) -> int:
        """Return how many candles of ``symbol`` are stored."""
        return int(await self._db.fetchval("SELECT count(*) FROM klines_5m WHERE symbol = $1", symbol))
