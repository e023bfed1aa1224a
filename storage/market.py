"""The per-symbol pipeline's persistence (P-06, D-01, D-04, S-03): candles, signals and the L50 book log.

``MarketRepository`` satisfies the actors' ``MarketStore`` port (and the warm-up's ``CandleBatchStore``)
over the three repositories below it. Every write is idempotent:

* candles: insert-once on ``(symbol, open_time)``, the primary key of ``klines_5m``
  (``KlineRepository.insert_new``, group-committed with the other symbols' candles of the same close);
* signals: insert-once on ``id``, a UUIDv5 of (strategy, symbol, side, bar start)
  (``strategy_core.signal_id_for``), so one bar can never hold two signals of one strategy, across restarts.
  A risk denial is stored as status ``denied`` with ``error_code = 'risk_denied'`` and the reason;
* book snapshots: insert-once on ``(symbol, captured_at, update_id)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import structlog

from storage.klines import KlineRepository
from storage.orderbook import BookLike, BookLogRepository
from storage.signals import SignalRepository
from strategy_core import ConfirmedCandle, InvalidCandleError, Signal, SignalStatus

__all__ = ["MarketRepository"]

log = structlog.get_logger(__name__)

_BAR = dt.timedelta(minutes=5)


class MarketRepository:
    """Candles, signals and book snapshots of the live pipeline, tagged with the data ``source``.

    Args:
        klines, signals, books: the repositories written through (``Storage`` holds one of each).
        source: stored with each candle: ``ws`` (live), ``simulator``, ``rest`` (back-fill).
    """

    def __init__(
        self,
        klines: KlineRepository,
        signals: SignalRepository,
        books: BookLogRepository,
        *,
        source: str = "ws",
    ) -> None:
        self._klines = klines
        self._signals = signals
        self._books = books
        self._source = source

    async def store_candle(self, candle: ConfirmedCandle) -> bool:
        """Insert the candle unless (symbol, start) exists; return True when it was new."""
        return await self._klines.insert_new(candle, source=self._source)

    async def store_candles(self, candles: Sequence[ConfirmedCandle]) -> int:
        """Insert the candles not stored yet (warm-up back-fill) in one statement; return the new count."""
        return sum(await self._klines.insert_new_many([(c, self._source) for c in candles]))

    async def last_candles(self, symbol: str, n: int) -> list[ConfirmedCandle]:
        """Return up to ``n`` newest stored 5m candles of ``symbol``, oldest first; skip invalid rows."""
        candles: list[ConfirmedCandle] = []
        for bar in await self._klines.last_n(symbol, n):
            try:
                candles.append(
                    ConfirmedCandle(
                        symbol=symbol,
                        start=bar.start,
                        end=bar.start + _BAR,
                        open=bar.open,
                        high=bar.high,
                        low=bar.low,
                        close=bar.close,
                        volume=bar.volume,
                        turnover=bar.turnover,
                    )
                )
            except InvalidCandleError as exc:
                log.warning("stored candle skipped", symbol=symbol, start=str(bar.start), error=str(exc))
        return candles

    async def latest_start(self, symbol: str) -> dt.datetime | None:
        """Return the open time of ``symbol``'s newest stored 5m bar, or None when none is stored."""
        return await self._klines.latest_open([symbol])

    async def store_repaired(
        self,
        symbol: str,
        repaired: Sequence[ConfirmedCandle],
        missing: Sequence[dt.datetime],
        *,
        attempts: int,
        reason: str | None,
    ) -> int:
        """Store bars fetched over REST after a hole and record every hole's outcome (D-02); return new rows.

        ``repaired`` go to ``klines_5m`` (source ``rest_backfill``, ``repaired_at``); each hole is recorded in
        ``kline_gaps`` as ``repaired`` or ``missing`` (a missing bar is never invented).
        """
        inserted = await self._klines.insert_repaired(repaired)
        outcomes = [(c.start, "repaired") for c in repaired] + [(m, "missing") for m in missing]
        await self._klines.record_gaps(symbol, outcomes, attempts=attempts, reason=reason)
        return inserted

    async def store_signal(self, signal: Signal, status: str, reason: str | None) -> bool:
        """Insert the signal with ``status`` (new, queued, denied) once per id; True when it was new.

        A new or queued signal is announced to the UI in the same transaction (outbox topic ``signal``,
        G-03); a denied one is stored only.
        """
        update: dict[str, object] = {"status": SignalStatus(status)}
        if status == "denied":
            update |= {"error_code": "risk_denied", "error_message": reason, "queued_until": None}
        elif status == "new":
            update["queued_until"] = None
        return await self._signals.insert(signal.model_copy(update=update), announce=status != "denied")

    async def log_book(self, snapshot: BookLike) -> None:
        """Append one L50 snapshot to ``orderbook_l50_log`` (research mode, D-04)."""
        await self._books.append(snapshot)
