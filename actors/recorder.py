"""Store every public stream besides candles (P-06): the trade tape, tickers and funding settlements.

``StreamRecorder`` is an exchange ``EventSink`` that runs in the trio thread next to the ``SymbolRouter``
(``TeeSink`` hands each event to both). ``publish`` is on the WebSocket hot path, so it only appends the
event to a bounded buffer; the recorder's ``run`` task writes the buffers in batches every
``flush_interval_s`` (one ``INSERT … unnest`` per stream and batch, ``StreamStore``), never on the hot path.

* trades: every print (the session already drops a re-sent trade id; storage drops any other copy by
  ``(symbol, trade_id, traded_at)``, e.g. after a process restart);
* tickers: the merged full ticker (mark, index, last, funding rate, next funding time), at most one per
  ``ticker_every_ms`` of exchange time per symbol, plus every one whose funding fields changed;
  unique per ``(symbol, ts)``;
* funding settlements: when a ticker's ``next_funding_time`` moves forward, the previous funding time has
  settled at the last rate announced before it; unique per ``(symbol, funding_time)``.

A database outage keeps the rows (up to ``max_pending`` per stream; beyond, new rows are dropped and
counted) and retries after ``retry_s``; a batch refused for another reason is retried row by row so one bad
row does not take its neighbours with it. On cancellation the buffers get one last, bounded flush.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import structlog
import trio

from actors.config import StreamsConfig
from actors.market_metrics import MarketMetrics
from actors.ports import StreamStore
from exchange.bybit import PublicTrade, TickerUpdate
from storage import FundingRow, StorageError, StorageUnavailableError, TickerRow, TradeRow

__all__ = ["RecorderStats", "StreamRecorder", "TeeSink"]

log = structlog.get_logger(__name__)

R = TypeVar("R")
_FINAL_FLUSH_S = 5.0


def _utc(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


class TeeSink:
    """An ``EventSink`` handing each event to several sinks in order (the router first)."""

    def __init__(self, *sinks: Any) -> None:
        self._sinks = sinks

    def publish(self, event: object) -> None:
        """Publish ``event`` to every sink."""
        for sink in self._sinks:
            sink.publish(event)


@dataclass(slots=True)
class RecorderStats:
    """Per stream: rows accepted from the session, stored (new), duplicates, dropped, failed; batches."""

    accepted: dict[str, int]
    stored: dict[str, int]
    duplicates: dict[str, int]
    dropped: dict[str, int]
    failed: dict[str, int]
    batches: int = 0

    @classmethod
    def empty(cls) -> RecorderStats:
        """Return zeroed counters for the three streams."""
        zero = {"trades": 0, "tickers": 0, "funding": 0}
        return cls(dict(zero), dict(zero), dict(zero), dict(zero), dict(zero))


class StreamRecorder:
    """See the module docstring. ``await nursery.start(recorder.run)``; give ``recorder`` to a ``TeeSink``."""

    def __init__(
        self, store: StreamStore, config: StreamsConfig, metrics: MarketMetrics | None = None
    ) -> None:
        self._store = store
        self._config = config
        self._metrics = metrics
        self.stats = RecorderStats.empty()
        self._trades: deque[PublicTrade] = deque()
        self._tickers: deque[TickerUpdate] = deque()
        self._fundings: deque[FundingRow] = deque()
        self._last_ticker_ms: dict[str, int] = {}
        self._funding: dict[str, tuple[int | None, Decimal | None]] = {}

    # -- hot path (trio thread, called by the public session for every event)

    def publish(self, event: object) -> None:
        """Buffer a trade or a ticker; ignore every other event."""
        kind = type(event)
        if kind is PublicTrade:
            self._keep("trades", self._trades, event)
        elif kind is TickerUpdate:
            self._on_ticker(event)  # type: ignore[arg-type]  # checked by the type test above

    def _on_ticker(self, ticker: TickerUpdate) -> None:
        symbol = ticker.symbol
        previous_next, previous_rate = self._funding.get(symbol, (None, None))
        funding_changed = (ticker.next_funding_time, ticker.funding_rate) != (previous_next, previous_rate)
        if (
            previous_next is not None
            and previous_rate is not None
            and ticker.next_funding_time is not None
            and ticker.next_funding_time > previous_next
        ):
            self._keep("funding", self._fundings, FundingRow(symbol, _utc(previous_next), previous_rate))
        if funding_changed:
            self._funding[symbol] = (ticker.next_funding_time, ticker.funding_rate)
        last = self._last_ticker_ms.get(symbol)
        if funding_changed or last is None or ticker.ts - last >= self._config.ticker_every_ms:
            self._last_ticker_ms[symbol] = ticker.ts
            self._keep("tickers", self._tickers, ticker)

    def _keep(self, stream: str, buffer: deque[Any], item: object) -> None:
        if len(buffer) >= self._config.max_pending:
            self._count(stream, "dropped", 1)
            return
        buffer.append(item)
        self.stats.accepted[stream] += 1

    # -- flushing (trio task)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Flush the buffers every ``flush_interval_s`` until cancelled, then once more (bounded)."""
        task_status.started()
        try:
            while True:
                await trio.sleep(self._config.flush_interval_s)
                await self.flush()
        finally:
            with trio.move_on_after(_FINAL_FLUSH_S) as scope:
                scope.shield = True
                await self.flush()

    async def flush(self) -> None:
        """Write every buffered row now (batches of ``max_batch``); keep them when the database is down."""
        await self._drain("trades", self._trades, _trade_row, self._store.insert_trades)
        await self._drain("tickers", self._tickers, _ticker_row, self._store.insert_tickers)
        await self._drain("funding", self._fundings, _same, self._store.insert_fundings)

    async def _drain(
        self,
        stream: str,
        buffer: deque[Any],
        to_row: Callable[[Any], R],
        write: Callable[[Sequence[R]], Awaitable[int]],
    ) -> None:
        while buffer:
            taken = [buffer.popleft() for _ in range(min(self._config.max_batch, len(buffer)))]
            rows = [to_row(item) for item in taken]
            self.stats.batches += 1
            try:
                new = await write(rows)
            except StorageUnavailableError as exc:
                buffer.extendleft(reversed(taken))  # keep order; retried after the outage
                log.warning("stream write deferred", stream=stream, rows=len(rows), error=str(exc))
                await trio.sleep(self._config.retry_s)
                return
            except StorageError as exc:
                log.warning("stream batch refused; writing rows one by one", stream=stream, error=str(exc))
                new = await self._one_by_one(stream, rows, write)
            self._count(stream, "stored", new)
            self._count(stream, "duplicates", len(rows) - new)

    async def _one_by_one(
        self, stream: str, rows: list[R], write: Callable[[Sequence[R]], Awaitable[int]]
    ) -> int:
        new = 0
        for row in rows:
            try:
                new += await write([row])
            except StorageError as exc:
                self._count(stream, "failed", 1)
                log.error("stream row refused", stream=stream, row=repr(row), error=str(exc))  # noqa: TRY400 - the row is the story, not the trace
        return new

    def _count(self, stream: str, outcome: str, n: int) -> None:
        if n <= 0:
            return
        getattr(self.stats, outcome)[stream] += n
        if self._metrics is not None:
            self._metrics.stream_rows.labels(stream, outcome).inc(n)


def _trade_row(trade: PublicTrade) -> TradeRow:
    return TradeRow(
        symbol=trade.symbol,
        trade_id=trade.trade_id,
        traded_at=_utc(trade.trade_time),
        side=trade.side,
        price=trade.price,
        size=trade.size,
        block_trade=trade.block_trade,
    )


def _ticker_row(ticker: TickerUpdate) -> TickerRow:
    return TickerRow(
        symbol=ticker.symbol,
        ts=_utc(ticker.ts),
        last_price=ticker.last,
        mark_price=ticker.mark,
        index_price=ticker.index,
        funding_rate=ticker.funding_rate,
        next_funding_time=None if ticker.next_funding_time is None else _utc(ticker.next_funding_time),
    )


def _same(row: FundingRow) -> FundingRow:
    return row
