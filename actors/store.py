"""``SqlMarketStore``: the ``MarketStore`` port on PostgreSQL (klines_5m, signals, orderbook_l50_log).

Runs in the trio thread (the work queue's jobs call it). Every write is idempotent:

* candles: ``ON CONFLICT (symbol, open_time) DO NOTHING`` — the primary key of ``klines_5m``
  (``storage.KlineRepository.insert_new``);
* signals: ``ON CONFLICT (id) DO NOTHING`` — the id is a UUIDv5 of (strategy, symbol, side, bar start)
  (``strategy_core.signal_id_for``), so one bar can never hold two signals of one strategy, across restarts.
  stored through ``storage.SignalRepository.insert``. A risk denial is stored as status ``denied`` with
  ``error_code = 'risk_denied'`` and the reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol

import structlog

from actors.ports import SignalStatus
from exchange.bybit import BookSnapshot
from strategy_core import ConfirmedCandle, InvalidCandleError, Signal
from strategy_core import SignalStatus as SignalStatusDb

__all__ = ["CandleInserter", "SignalInserter", "SqlExecutor", "SqlMarketStore"]

log = structlog.get_logger(__name__)

_BAR = dt.timedelta(minutes=5)

_LAST_CANDLES = """
SELECT open_time, open, high, low, close, volume, turnover
FROM klines_5m WHERE symbol = $1 ORDER BY open_time DESC LIMIT $2
"""

_INSERT_BOOK = """
INSERT INTO orderbook_l50_log (symbol, captured_at, update_id, seq, best_bid, best_ask, bids, asks)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT DO NOTHING
"""


class SqlExecutor(Protocol):
    """The subset of ``storage.Database`` used here (trio-native)."""

    async def fetch(self, query: str, *args: object) -> list[Any]:
        """Run a query and return its rows."""

    async def fetchval(self, query: str, *args: object) -> Any:
        """Run a query and return the first column of the first row."""

    async def execute(self, query: str, *args: object) -> str:
        """Run a statement."""


class SignalInserter(Protocol):
    """The subset of ``storage.SignalRepository`` used here."""

    async def insert(self, signal: Any) -> bool:
        """Store ``signal`` unless its id exists; return True when it was new."""


class CandleInserter(Protocol):
    """The subset of ``storage.KlineRepository`` used here."""

    async def insert_new(self, candle: Any, *, source: str = "ws") -> bool:
        """Insert ``candle`` unless (symbol, start) is stored; return True when it was new."""

    async def insert_new_many(self, items: Sequence[tuple[Any, str]]) -> list[bool]:
        """Insert each ``(candle, source)`` not stored yet in one statement; per item, True when new."""


class SqlMarketStore:
    """``MarketStore`` over a ``storage.Database`` and its ``SignalRepository`` and ``KlineRepository``."""

    def __init__(
        self, db: SqlExecutor, signals: SignalInserter, klines: CandleInserter, *, source: str = "ws"
    ) -> None:
        self._db = db
        self._signals = signals
        self._klines = klines
        self._source = source

    async def store_candle(self, candle: ConfirmedCandle) -> bool:
        """Insert the candle unless (symbol, start) exists; return True when it was new."""
        return await self._klines.insert_new(candle, source=self._source)

    async def store_candles(self, candles: Sequence[ConfirmedCandle]) -> int:
        """Insert the candles not stored yet (warm-up back-fill) in one statement; return the new count."""
        return sum(await self._klines.insert_new_many([(c, self._source) for c in candles]))

    async def last_candles(self, symbol: str, n: int) -> Sequence[ConfirmedCandle]:
        """Return up to ``n`` newest stored 5m candles of ``symbol``, oldest first."""
        rows = await self._db.fetch(_LAST_CANDLES, symbol, n)
        candles: list[ConfirmedCandle] = []
        for row in reversed(rows):
            try:
                candles.append(
                    ConfirmedCandle(
                        symbol=symbol,
                        start=row["open_time"],
                        end=row["open_time"] + _BAR,
                        open=row["open"],
                        high=row["high"],
                        low=row["low"],
                        close=row["close"],
                        volume=row["volume"],
                        turnover=row["turnover"],
                    )
                )
            except InvalidCandleError as exc:
                log.warning(
                    "stored candle skipped", symbol=symbol, start=str(row["open_time"]), error=str(exc)
                )
        return candles

    async def store_signal(self, signal: Signal, status: SignalStatus, reason: str | None) -> bool:
        """Insert the signal once per id (one per strategy, symbol, side and bar); True when it was new."""
        update: dict[str, object] = {"status": SignalStatusDb(status)}
        if status == "denied":
            update |= {"error_code": "risk_denied", "error_message": reason, "queued_until": None}
        elif status == "new":
            update["queued_until"] = None
        return await self._signals.insert(signal.model_copy(update=update))

    async def log_book(self, snapshot: BookSnapshot) -> None:
        """Append one L50 snapshot to ``orderbook_l50_log`` (D-04)."""
        if not snapshot.bids or not snapshot.asks:
            return
        await self._db.execute(
            _INSERT_BOOK,
            snapshot.symbol,
            dt.datetime.fromtimestamp(snapshot.ts / 1000, tz=dt.UTC),
            snapshot.u,
            snapshot.seq,
            snapshot.bids[0][0],
            snapshot.asks[0][0],
            [[p, q] for p, q in snapshot.bids],
            [[p, q] for p, q in snapshot.asks],
        )
