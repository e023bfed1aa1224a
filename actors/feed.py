"""FeedActor: one symbol's market data → validated, de-duplicated confirmed candles (D-01, D-02, D-04).

The behaviour (``FeedBehaviour``) is a plain state machine over ``FeedMessage`` so it can be driven directly
in unit tests; ``FeedActor`` hosts it as a supervised actor (path ``root/symbols/<SYM>/feed``). It

* validates every closing kline with ``ConfirmedCandle.create`` — invalid ones are counted and logged, never
  passed on (D-01);
* drops repeated closes of a bar it already forwarded (D-02);
* passes bars downstream strictly in order through a ``BarSequencer``: a hole — found when a close skips
  bars, when the exchange clock (any market event's ``ts``) passes a bar that never closed, or after a
  restart against the newest stored bar — holds the newer closes back while the absent bars are fetched over
  REST (``BarHistory``, a work-queue job on the rate-limited client), stored as ``rest_backfill`` and passed
  on (``repaired=True``) in order; a bar that cannot be recovered is recorded missing and passed on as
  ``BarMissing`` — never invented (D-02);
* keeps the L50 book (``OrderBookL50``) and the ticker, and hands the indicator a ``BookTop`` and
  ``TickerState`` taken at the close;
* stores each closed candle in ``klines_5m`` through the work queue (idempotent upsert), retrying a failed
  store a bounded number of times; the result comes back as ``CandleStored`` / ``CandleStoreFailed``;
* in research mode, logs L50 snapshots of BTC/ETH to ``orderbook_l50_log`` at a fixed cadence (D-04);
* on start (and on a sequence gap) asks for a fresh REST snapshot (the reply is ``SnapshotFetched``);
* answers ``GetFeedStatus`` with a ``FeedStatusReport`` (``last_event_at`` is the clock's time of the last
  market event).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from decimal import Decimal

import structlog

from actors.config import FeedConfig, TradingInputs
from actors.deps import LazySink
from actors.host import SymbolActor, unexpected
from actors.market_metrics import MarketMetrics
from actors.messages import (
    BarMissing,
    BarsFetched,
    BarsFetchFailed,
    BookLogged,
    CandleConfirmed,
    CandleStored,
    CandleStoreFailed,
    FeedSeeded,
    FeedStatusReport,
    GetFeedStatus,
    MessageSink,
    RepairStored,
    RepairStoreFailed,
    SnapshotFailed,
    SnapshotFetched,
)
from actors.paths import INDICATOR, sibling_path
from actors.ports import BarHistory, MarketStore, SnapshotSource, WorkQueue
from actors.sequencer import MISSING, BarSequencer
from exchange.bybit import (
    ApplyResult,
    BookDelta,
    BookSnapshot,
    KlineUpdate,
    OrderBookL50,
    PublicTrade,
    TickerUpdate,
)
from strategy_core import (
    BookTop,
    ConfirmedCandle,
    InvalidCandleError,
    TickerState,
    book_depth_usd,
    orderbook_imbalance,
)
from supervision import Clock

__all__ = ["FeedActor", "FeedBehaviour", "FeedMessage", "FeedStats", "ms_to_utc"]

log = structlog.get_logger(__name__)

_MINUTE_MS = 60_000
RESEARCH_SYMBOLS = frozenset({"BTCUSDT", "ETHUSDT"})


def ms_to_utc(ms: int) -> dt.datetime:
    """Return the aware UTC datetime of an epoch-millisecond stamp."""
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


MarketEvent = KlineUpdate | BookDelta | BookSnapshot | TickerUpdate | PublicTrade
FeedMessage = (
    MarketEvent
    | GetFeedStatus
    | SnapshotFetched
    | SnapshotFailed
    | CandleStored
    | CandleStoreFailed
    | BookLogged
    | FeedSeeded
    | BarsFetched
    | BarsFetchFailed
    | RepairStored
    | RepairStoreFailed
)
"""Every message a FeedActor handles: market events, work-queue replies, the status ask."""


@dataclass(slots=True)
class FeedStats:
    """Counters of one feed incarnation (read by tests and the ops snapshot)."""

    closes: int = 0
    forwarded: int = 0
    duplicates: int = 0
    invalid: int = 0
    open_updates: int = 0
    stored: int = 0
    store_failures: int = 0
    book_updates: int = 0
    book_gaps: int = 0
    snapshots_requested: int = 0
    research_logged: int = 0
    trades: int = 0
    absent: int = 0  # bars found absent (holes)
    repaired: int = 0  # absent bars fetched over REST
    missing: int = 0  # absent bars that could not be recovered
    repair_fetches: int = 0
    invalid_rules: dict[str, int] = field(default_factory=dict)


class FeedBehaviour:
    """The feed's state machine; every method runs in the owning actor's thread."""

    def __init__(
        self,
        symbol: str,
        config: FeedConfig,
        inputs: TradingInputs,
        *,
        downstream: MessageSink,
        work: WorkQueue,
        store: MarketStore,
        snapshots: SnapshotSource,
        self_ref: MessageSink,
        clock: Clock,
        history: BarHistory | None = None,
        metrics: MarketMetrics | None = None,
    ) -> None:
        self.symbol = symbol
        self.config = config
        self._research = inputs.research_mode and symbol in RESEARCH_SYMBOLS
        self._book_levels = inputs.strategy.book_levels
        self._downstream = downstream
        self._work = work
        self._store = store
        self._snapshots = snapshots
        self._self = self_ref
        self._clock = clock
        self._history = history
        self._metrics = metrics
        self.bars = BarSequencer(grace_ms=config.close_grace_ms, max_attempts=config.repair_max_attempts)
        self.book = OrderBookL50(symbol)
        self.stats = FeedStats()
        self.last_event_at: dt.datetime | None = None
        self._snapshot_pending = False
        self._last_research_ms = 0
        self._mark: TickerUpdate | None = None
        self._funding_ms: int | None = None
        self._funding_rate: Decimal | None = None
        self._log = log.bind(symbol=symbol)

    # -- lifecycle

    def start(self) -> None:
        """Rebuild state: the book is empty until a fresh REST snapshot arrives (DESIGN §4); the bar sequence
        starts after the newest stored bar (closes wait until that read is back)."""
        self.request_snapshot()
        self._seed()

    def stop(self) -> None:
        """Nothing to cancel: the feed keeps no timers and buffers nothing."""

    # -- dispatch

    def handle(self, message: FeedMessage) -> FeedStatusReport | None:  # noqa: PLR0912 - a case per type
        """Handle one message; ``GetFeedStatus`` returns the report, every other message ``None``.

        Raises:
            TypeError: ``message`` is not a ``FeedMessage``.
        """
        match message:
            # -- commands (market events from the exchange session, via the router)
            case KlineUpdate():
                self._stamp()
                self._on_kline(message)
                self._on_exchange_time(message.ts)
            case BookDelta() | BookSnapshot():
                self._stamp()
                self._on_book(message)
                self._on_exchange_time(message.ts)
            case TickerUpdate():
                self._stamp()
                self._on_ticker(message)
                self._on_exchange_time(message.ts)
            case PublicTrade():
                self._stamp()
                self.stats.trades += 1
                self._on_exchange_time(message.ts)
            case GetFeedStatus():
                return self._status()
            # -- replies (work queue → feed)
            case SnapshotFetched():
                self._snapshot_pending = False
                self._on_book(message.snapshot)
            case SnapshotFailed():
                self._snapshot_pending = False
                self._log.warning("snapshot failed", error=message.error)
            case CandleStored():
                self.stats.stored += 1
            case CandleStoreFailed():
                self._on_store_failed(message)
            case BookLogged():
                pass
            # -- replies (gap repair, D-02)
            case FeedSeeded():
                self._on_seeded(message)
            case BarsFetched():
                self._on_bars_fetched(message)
            case BarsFetchFailed():
                self._on_bars_failed(message)
            case RepairStored():
                self._log.info("repair stored", repaired=message.repaired, missing=message.missing,
                               inserted=message.inserted)
            case RepairStoreFailed():
                self._log.error("repair store failed", error=message.error)
            case _:
                raise unexpected("FeedBehaviour", message)
        return None

    # -- commands

    def _on_kline(self, update: KlineUpdate) -> None:
        # latency starts where the exchange message was parsed (trio thread), else here
        received_ns = update.received_ns or time.perf_counter_ns()
        if update.interval != self.config.interval:
            return
        if not update.confirm:
            self.stats.open_updates += 1
            return
        self.stats.closes += 1
        if self.bars.newest_ms is not None and update.start <= self.bars.newest_ms and not self.bars.awaits(
            update.start
        ):
            self.stats.duplicates += 1
            return
        # Bybit's ``end`` is the last millisecond of the bar; ConfirmedCandle wants the exclusive boundary.
        end_ms = update.end + 1 if (update.end + 1 - update.start) % _MINUTE_MS == 0 else update.end
        now = ms_to_utc(update.ts)
        try:
            candle = ConfirmedCandle.create(
                symbol=update.symbol,
                start=ms_to_utc(update.start),
                end=ms_to_utc(end_ms),
                open=update.open,
                high=update.high,
                low=update.low,
                close=update.close,
                volume=update.volume,
                turnover=update.turnover,
                confirm=update.confirm,
                now=now,
            )
        except InvalidCandleError as exc:
            self.stats.invalid += 1
            rule = getattr(exc, "rule", type(exc).__name__)
            self.stats.invalid_rules[str(rule)] = self.stats.invalid_rules.get(str(rule), 0) + 1
            self._log.warning("invalid candle dropped", start=update.start, rule=rule, error=str(exc))
            return
        confirmed = CandleConfirmed(
            candle=candle,
            book=self.book_top(now),
            ticker=self.ticker_state(now),
            now=now,
            received_ns=received_ns,
        )
        fresh, holes = self.bars.on_close(update.start, confirmed)
        if not fresh:
            self.stats.duplicates += 1
            return
        self._submit_store(candle, attempt=1)
        self._on_holes(holes)
        self._drain()

    def _on_book(self, update: BookSnapshot | BookDelta) -> None:
        self.stats.book_updates += 1
        result = self.book.apply(update)
        if result is ApplyResult.GAP:
            self.stats.book_gaps += 1
            self.request_snapshot()
            return
        if (
            self._research
            and result is not ApplyResult.DUPLICATE
            and self.book.ts - self._last_research_ms >= self.config.research_every_ms
        ):
            self._log_research_snapshot()

    def _on_ticker(self, update: TickerUpdate) -> None:
        if update.mark is not None:
            self._mark = update
        if update.next_funding_time is not None:
            self._funding_ms = update.next_funding_time
        if update.funding_rate is not None:
            self._funding_rate = update.funding_rate

    # -- replies

    def _on_store_failed(self, failure: CandleStoreFailed) -> None:
        self.stats.store_failures += 1
        if failure.attempt >= self.config.max_store_attempts:
            self._log.error("candle store gave up", start=str(failure.candle.start), error=failure.error)
            return
        self._log.warning("candle store retried", attempt=failure.attempt, error=failure.error)
        self._submit_store(failure.candle, attempt=failure.attempt + 1)

    # -- gap repair (D-02)

    def _on_exchange_time(self, ts_ms: int) -> None:
        holes = self.bars.on_clock(ts_ms)
        if holes:
            self._on_holes(holes)

    def _on_holes(self, holes: list[int]) -> None:
        if not holes:
            return
        self.stats.absent += len(holes)
        if self._metrics is not None:
            self._metrics.bars_absent.labels(self.symbol).inc(len(holes))
        self._log.warning("bars absent", first=str(ms_to_utc(holes[0])), count=len(holes))
        self._request_repair()

    def _on_seeded(self, seeded: FeedSeeded) -> None:
        if seeded.error is not None:
            self._log.warning("newest stored bar unknown", error=seeded.error)
        self._on_holes(self.bars.seed(seeded.start_ms))
        self._drain()

    def _on_bars_fetched(self, fetched: BarsFetched) -> None:
        self.stats.repair_fetches += 1
        if self._metrics is not None:
            self._metrics.repair_fetches.labels("ok").inc()
        wanted = set(fetched.starts)
        by_start = {
            _ms(c.start): CandleConfirmed(
                candle=c, book=None, ticker=None, now=c.end, received_ns=time.perf_counter_ns(), repaired=True
            )
            for c in fetched.candles
            if _ms(c.start) in wanted
        }
        attempts = max((self.bars.attempts.get(s, 1) for s in fetched.starts), default=1)
        repaired, missing = self.bars.on_fetched(by_start)
        self._settle(repaired, missing, attempts, None)

    def _on_bars_failed(self, failed: BarsFetchFailed) -> None:
        self.stats.repair_fetches += 1
        if self._metrics is not None:
            self._metrics.repair_fetches.labels("failed").inc()
        self._log.warning("bars fetch failed", count=len(failed.starts), error=failed.error)
        attempts = max((self.bars.attempts.get(s, 1) for s in failed.starts), default=1)
        self._settle([], self.bars.on_fetch_failed(), attempts, failed.error)

    def _settle(
        self, repaired: list[CandleConfirmed], missing: list[int], attempts: int, reason: str | None
    ) -> None:
        self.stats.repaired += len(repaired)
        self.stats.missing += len(missing)
        if self._metrics is not None:
            self._metrics.bars_repaired.labels(self.symbol).inc(len(repaired))
            self._metrics.bars_missing.labels(self.symbol).inc(len(missing))
        if missing:
            self._log.error("bars missing", first=str(ms_to_utc(missing[0])), count=len(missing),
                            reason=reason)
        if repaired or missing:
            candles = [c.candle for c in repaired]
            self._submit_repair(candles, [ms_to_utc(m) for m in missing], attempts, reason)
        self._request_repair()
        self._drain()

    def _drain(self) -> None:
        for start, slot in self.bars.drain():
            if slot is MISSING:
                self._downstream.tell(BarMissing(symbol=self.symbol, start=ms_to_utc(start)))
            elif isinstance(slot, CandleConfirmed):
                self._downstream.tell(slot)
                self.stats.forwarded += 1

    def _seed(self) -> None:
        self.bars.expect_seed()
        symbol, store = self.symbol, self._store

        async def newest() -> object:
            latest = await store.latest_start(symbol)
            return FeedSeeded(symbol=symbol, start_ms=None if latest is None else _ms(latest))

        self._work.submit(
            newest, self._self, lambda exc: FeedSeeded(symbol=symbol, start_ms=None, error=repr(exc))
        )

    def _request_repair(self) -> None:
        starts = self.bars.next_request(self.config.repair_max_bars)
        if not starts:
            return
        symbol, history = self.symbol, self._history
        if history is None:  # no REST source (a test's pipeline): the bars cannot be recovered
            for start in starts:
                self.bars.attempts[start] = self.config.repair_max_attempts
            self._self.tell(BarsFetchFailed(symbol=symbol, starts=starts, error="no REST history source"))
            return

        async def fetch() -> object:
            candles = await history.fetch_bars(symbol, starts[0], starts[-1])
            return BarsFetched(symbol=symbol, starts=starts, candles=tuple(candles))

        self._work.submit(
            fetch, self._self, lambda exc: BarsFetchFailed(symbol=symbol, starts=starts, error=repr(exc))
        )

    def _submit_repair(
        self, candles: list[ConfirmedCandle], missing: list[dt.datetime], attempts: int, reason: str | None
    ) -> None:
        symbol, store = self.symbol, self._store

        async def persist() -> object:
            inserted = await store.store_repaired(symbol, candles, missing, attempts=attempts, reason=reason)
            return RepairStored(symbol=symbol, repaired=len(candles), missing=len(missing), inserted=inserted)

        self._work.submit(persist, self._self, lambda exc: RepairStoreFailed(symbol=symbol, error=repr(exc)))

    # -- egress

    def _submit_store(self, candle: ConfirmedCandle, attempt: int) -> None:
        store = self._store

        async def persist() -> object:
            inserted = await store.store_candle(candle)
            return CandleStored(symbol=candle.symbol, start_ms=_ms(candle.start), inserted=inserted)

        self._work.submit(
            persist,
            self._self,
            lambda exc: CandleStoreFailed(candle=candle, error=repr(exc), attempt=attempt),
        )

    def _log_research_snapshot(self) -> None:
        if self.book.best_bid is None or self.book.best_ask is None:
            return
        self._last_research_ms = self.book.ts
        snapshot = self.book.to_snapshot()
        store = self._store

        async def persist() -> object:
            await store.log_book(snapshot)
            return BookLogged(symbol=snapshot.symbol, update_id=snapshot.u)

        self.stats.research_logged += 1
        self._work.submit(
            persist, self._self, lambda exc: SnapshotFailed(symbol=snapshot.symbol, error=repr(exc))
        )

    def request_snapshot(self) -> None:
        """Ask the trio side for a REST snapshot unless one is already on its way."""
        if self._snapshot_pending:
            return
        self._snapshot_pending = True
        self.stats.snapshots_requested += 1
        symbol, source = self.symbol, self._snapshots

        async def fetch() -> object:
            return SnapshotFetched(snapshot=await source.fetch_snapshot(symbol))

        self._work.submit(fetch, self._self, lambda exc: SnapshotFailed(symbol=symbol, error=repr(exc)))

    # -- queries

    def _stamp(self) -> None:
        self.last_event_at = self._clock.now()

    def _status(self) -> FeedStatusReport:
        return FeedStatusReport(
            symbol=self.symbol,
            last_event_at=self.last_event_at,
            book_synced=self.book.synced,
            closes=self.stats.closes,
            forwarded=self.stats.forwarded,
            duplicates=self.stats.duplicates,
            invalid=self.stats.invalid,
            mark_price=None if self._mark is None else self._mark.mark,
            next_funding_time=None if self._funding_ms is None else ms_to_utc(self._funding_ms),
        )

    def book_top(self, now: dt.datetime) -> BookTop | None:
        """Return the top of book with the L10 imbalance and the L50 depth, or ``None`` while unusable.

        ``depth_usd`` is Σ price × qty over both sides of the whole L50 book (see ``BookTop``).
        """
        bid, ask = self.book.top_of_book()
        if not self.book.synced or bid is None or ask is None or bid[0] >= ask[0]:
            return None
        bids, asks = self.book.depth(self._book_levels)
        try:
            imbalance = orderbook_imbalance(bids, asks, levels=self._book_levels)
        except ValueError:
            return None
        ts = ms_to_utc(self.book.ts) if self.book.ts else now
        return BookTop(
            depth_usd=book_depth_usd(*self.book.depth()),
            symbol=self.symbol,
            bid=bid[0],
            bid_qty=bid[1],
            ask=ask[0],
            ask_qty=ask[1],
            imbalance=imbalance,
            ts=ts,
        )

    def ticker_state(self, now: dt.datetime) -> TickerState | None:
        """Return the latest mark price and funding time, or ``None`` until both are known."""
        if self._mark is None or self._mark.mark is None or self._funding_ms is None:
            return None
        extra = {} if self._funding_rate is None else {"funding_rate": self._funding_rate}
        return TickerState(
            symbol=self.symbol,
            mark_price=self._mark.mark,
            next_funding_time=ms_to_utc(self._funding_ms),
            ts=ms_to_utc(self._mark.ts) if self._mark.ts else now,
            **extra,
        )


def _ms(stamp: dt.datetime) -> int:
    return int(stamp.timestamp() * 1000)


class FeedActor(SymbolActor[FeedMessage, FeedConfig]):
    """Supervised host of ``FeedBehaviour`` (path ``root/symbols/<SYM>/feed``); a restart resyncs the book."""

    def build(self) -> FeedBehaviour:
        """Return a fresh feed telling its candles to the sibling indicator."""
        return FeedBehaviour(
            self._symbol,
            self._config,
            self._inputs,
            downstream=LazySink(self._deps.resolve, sibling_path(self.path, INDICATOR)),
            work=self._deps.work,
            store=self._deps.store,
            snapshots=self._deps.snapshots,
            self_ref=self.self_ref,
            clock=self.clock,
            history=self._deps.history,
            metrics=self._deps.market_metrics,
        )
