"""The public market-data session: one socket multiplexing every symbol's topics (D-02, D-03).

Per symbol it subscribes ``kline.{interval}.SYM``, ``orderbook.50.SYM``, ``publicTrade.SYM`` and
``tickers.SYM`` (≤ 10 args per request), keeps an ``OrderBookL50``, drops duplicates (book ``u``, trade ids,
repeated kline/ticker pushes), merges ticker deltas into full tickers, resyncs a book from REST on a
``u``/``seq`` gap, and polls REST snapshots while the socket has been silent for > ``silence_timeout_s``.

Hot path: an ``orderbook`` delta for a synced book skips the generic parser: ``OrderBookL50.apply_raw_delta``
applies its levels straight from the decoded lists, and a ``BookDelta`` event is built only when
``publish_book_deltas`` is on (the default; consumers that read ``books`` directly can turn it off).
Snapshots, ``u == 1`` resets, unsynced books and odd field types take the generic path.
"""

from __future__ import annotations

import dataclasses
import random
from collections import deque
from collections.abc import Sequence
from typing import Any

import structlog
import trio

from exchange.bybit.events import BookDelta, BookSnapshot, KlineUpdate, PublicTrade, TickerUpdate
from exchange.bybit.messages import parse_public
from exchange.bybit.orderbook import ApplyResult, OrderBookL50
from exchange.bybit.ratelimit import RateLimiter
from exchange.bybit.rest import BybitRestClient
from exchange.bybit.sink import EventSink
from exchange.bybit.ws_session import WsSession
from exchange.bybit.ws_transport import WsClosedError, WsConnection
from exchange.config import ExchangeConfig
from exchange.errors import ExchangeError

__all__ = ["PublicSession"]

log = structlog.get_logger(__name__)

MAX_ARGS_PER_SUBSCRIBE = 10
_TRADE_ID_MEMORY = 2048
_RECOVERABLE = (KeyError, TypeError, ValueError, ArithmeticError, IndexError, AttributeError)
_TICKER_FIELDS = (
    "last",
    "mark",
    "index",
    "bid1",
    "bid1_size",
    "ask1",
    "ask1_size",
    "funding_rate",
    "next_funding_time",
)


class PublicSession(WsSession):
    """Public WS service: ``await nursery.start(PublicSession(cfg, symbols, sink, rest).run)``."""

    channel = "public"

    def __init__(
        self,
        config: ExchangeConfig,
        symbols: Sequence[str],
        sink: EventSink,
        rest_client: BybitRestClient,
        *,
        rate_limiter: RateLimiter | None = None,
        publish_book_deltas: bool = True,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(config, config.ws_public_url, sink, rng=rng)
        if not symbols:
            raise ValueError("expected at least one symbol")
        self.symbols = tuple(dict.fromkeys(symbols))
        self.rest = rest_client
        self._limiter = rate_limiter if rate_limiter is not None else rest_client.rate_limiter
        self.publish_book_deltas = publish_book_deltas
        self.books = {s: OrderBookL50(s, config.orderbook_depth) for s in self.symbols}
        self.tickers: dict[str, TickerUpdate] = {}
        self._klines: dict[tuple[str, str], KlineUpdate] = {}
        self._trade_ids: dict[str, tuple[set[str], deque[str]]] = {s: (set(), deque()) for s in self.symbols}
        self._awaiting_snapshot: set[str] = set()
        self._resync_pending: set[str] = set()
        self._resync_send, self._resync_recv = trio.open_memory_channel[str](len(self.symbols) + 1)
        self._last_resync: dict[str, float] = {}
        self._last_traffic = 0.0
        self._last_count = -1
        self._subscribed = trio.Event()

    def topics(self) -> list[str]:
        """Return every topic this session subscribes, symbol by symbol."""
        cfg = self.config
        out: list[str] = []
        for s in self.symbols:
            out += [
                f"kline.{cfg.kline_interval}.{s}",
                f"orderbook.{cfg.orderbook_depth}.{s}",
                f"publicTrade.{s}",
                f"tickers.{s}",
            ]
        return out

    @property
    def subscribed(self) -> bool:
        """Return whether the socket is up and every symbol's book is synced since it (re)opened."""
        return self._subscribed.is_set()

    async def wait_subscribed(self) -> None:
        """Wait until the socket is up and every symbol's book has been synced since it (re)opened.

        The first snapshot of each ``orderbook`` topic (or its REST resync) syncs a book, so this is the
        moment every subscribed topic delivers. A reconnect starts the wait over.
        """
        await self._subscribed.wait()

    def _note_synced(self) -> None:
        if (
            not self._subscribed.is_set()
            and self.stats.connected
            and all(b.synced for b in self.books.values())
        ):
            self._subscribed.set()

    def _mark_down(self) -> None:
        super()._mark_down()
        if self._subscribed.is_set():
            self._subscribed = trio.Event()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve forever; holds ``len(topics())`` units of the shared ``ws`` counter while running (E-08)."""
        if self._limiter is None:
            await super().run(task_status=task_status)
            return
        async with self._limiter.holding("ws", len(self.topics())):
            await super().run(task_status=task_status)

    async def _start_helpers(self, nursery: trio.Nursery) -> None:
        self._last_traffic = trio.current_time()
        nursery.start_soon(self._resync_loop)
        nursery.start_soon(self._fallback_loop)

    # ------------------------------------------------------------- connect
    async def _on_open(self, ws: WsConnection, nursery: trio.Nursery) -> None:
        if self._subscribed.is_set():
            self._subscribed = trio.Event()
        for book in self.books.values():
            book.invalidate()
        self._awaiting_snapshot = set(self.symbols)
        topics = self.topics()
        for i in range(0, len(topics), MAX_ARGS_PER_SUBSCRIBE):
            await self.send(
                {
                    "op": "subscribe",
                    "req_id": self.next_req_id("sub"),
                    "args": topics[i : i + MAX_ARGS_PER_SUBSCRIBE],
                }
            )

    # ------------------------------------------------------------ hot path
    def _on_message(self, raw: str | bytes) -> None:
        msg = self._decode(raw)
        if msg is None:
            return
        topic = msg.get("topic")
        if topic is None:
            self._control(msg)
            return
        if msg.get("type") == "delta" and type(topic) is str and topic.startswith("orderbook."):
            self._on_book_delta(msg, topic)
        else:
            self._on_public(msg)

    def _on_book_delta(self, msg: dict[str, Any], topic: str) -> None:
        """Apply a steady-state book delta without building intermediate objects (the fast path)."""
        data = msg.get("data")
        if type(data) is not dict:
            self._on_public(msg)
            return
        symbol = data.get("s")
        book = self.books.get(symbol) if type(symbol) is str else None
        u, seq, ts, cts = data.get("u"), data.get("seq", 0), msg.get("ts"), msg.get("cts")
        if (
            book is None
            or not book.synced
            or u == 1
            or type(u) is not int
            or type(seq) is not int
            or type(ts) is not int
            or (cts is not None and type(cts) is not int)
        ):
            self._on_public(msg)
            return
        collect = self.publish_book_deltas
        try:
            result, bids, asks = book.apply_raw_delta(data["b"], data["a"], u, seq, ts, collect=collect)
        except _RECOVERABLE as exc:
            self.stats.parse_errors += 1
            log.warning("ws message unparsable", channel=self.channel, topic=topic, error=repr(exc))
            self.request_resync(book.symbol)
            return
        if result is ApplyResult.APPLIED:
            if collect:
                self.publish(BookDelta(book.symbol, bids, asks, u, seq, ts, cts))
        elif result is ApplyResult.DUPLICATE:
            self.stats.duplicates += 1
        else:
            self.stats.gaps += 1
            self.request_resync(book.symbol)

    def _on_public(self, msg: dict[str, Any]) -> None:
        """Parse ``msg`` into typed events and route each (the generic path)."""
        for event in self._events(msg, parse_public):
            if type(event) is BookDelta or type(event) is BookSnapshot:
                self._on_book(event)
            elif type(event) is PublicTrade:
                self._on_trade(event)
            elif type(event) is TickerUpdate:
                self._on_ticker(event)
            elif type(event) is KlineUpdate:
                self._on_kline(event)

    def _on_book(self, event: BookSnapshot | BookDelta) -> None:
        book = self.books.get(event.symbol)
        if book is None:
            return
        result = book.apply(event)
        if result is ApplyResult.APPLIED:
            self.publish(event)
        elif result is ApplyResult.RESET:
            self._awaiting_snapshot.discard(event.symbol)
            self.publish(event)
            self._note_synced()
        elif result is ApplyResult.DUPLICATE:
            self.stats.duplicates += 1
        elif event.symbol not in self._awaiting_snapshot:
            self.stats.gaps += 1
            self.request_resync(event.symbol)

    def _on_trade(self, event: PublicTrade) -> None:
        memory = self._trade_ids.get(event.symbol)
        if memory is None:
            return
        seen, order = memory
        if event.trade_id in seen:
            self.stats.duplicates += 1
            return
        seen.add(event.trade_id)
        order.append(event.trade_id)
        if len(order) > _TRADE_ID_MEMORY:
            seen.discard(order.popleft())
        self.publish(event)

    def _on_ticker(self, event: TickerUpdate) -> None:
        previous = self.tickers.get(event.symbol)
        if previous is not None and event.ts <= previous.ts:
            self.stats.duplicates += 1
            return
        if not event.is_snapshot and previous is not None:
            updates = {name: v for name in _TICKER_FIELDS if (v := getattr(event, name)) is not None}
            event = dataclasses.replace(previous, **updates, ts=event.ts, is_snapshot=False)
        self.tickers[event.symbol] = event
        self.publish(event)

    def _on_kline(self, event: KlineUpdate) -> None:
        key = (event.symbol, event.interval)
        previous = self._klines.get(key)
        if previous is not None and (event == previous or event.ts < previous.ts):
            self.stats.duplicates += 1
            return
        self._klines[key] = event
        self.publish(event)

    # -------------------------------------------------------- resync paths
    def request_resync(self, symbol: str) -> None:
        """Queue a REST snapshot resync for ``symbol`` (coalesced while one is pending)."""
        if symbol in self._resync_pending:
            return
        self._resync_pending.add(symbol)
        try:
            self._resync_send.send_nowait(symbol)
        except trio.WouldBlock:  # every symbol is already queued
            self._resync_pending.discard(symbol)

    async def _resync_loop(self) -> None:
        async for symbol in self._resync_recv:
            wait = (
                self._last_resync.get(symbol, -1e9) + self.config.resync_min_interval_s - trio.current_time()
            )
            if wait > 0:
                await trio.sleep(wait)
            self._resync_pending.discard(symbol)
            self._last_resync[symbol] = trio.current_time()
            if self.books[symbol].synced:
                continue
            if await self._rest_snapshot(symbol):
                self.stats.resyncs += 1
                log.info("book resynced", symbol=symbol, u=self.books[symbol].u)
            topic = f"orderbook.{self.config.orderbook_depth}.{symbol}"
            try:  # ask for a fresh WS snapshot too: REST and WS update ids may not line up
                self._awaiting_snapshot.add(symbol)
                await self.send({"op": "unsubscribe", "req_id": self.next_req_id("unsub"), "args": [topic]})
                await self.send({"op": "subscribe", "req_id": self.next_req_id("sub"), "args": [topic]})
            except WsClosedError:
                log.info("resubscribe skipped, socket down", symbol=symbol)

    async def _rest_snapshot(self, symbol: str) -> bool:
        try:
            snap = await self.rest.get_orderbook(symbol, self.config.orderbook_depth)
        except ExchangeError as exc:
            log.warning("rest snapshot failed", symbol=symbol, error=str(exc))
            return False
        self.books[symbol].apply(snap)
        self.publish(snap)
        self._note_synced()
        return True

    async def _fallback_loop(self) -> None:
        """Poll REST books while no WS traffic arrived for more than ``silence_timeout_s`` (D-02)."""
        interval = self.config.rest_fallback_interval_s
        while True:
            await trio.sleep(min(interval, self.config.silence_timeout_s / 4))
            now = trio.current_time()
            if self.stats.messages != self._last_count:
                self._last_count, self._last_traffic = self.stats.messages, now
                continue
            if now - self._last_traffic <= self.config.silence_timeout_s:
                continue
            log.warning("ws silent, polling rest", channel=self.channel, symbols=len(self.symbols))
            for symbol in self.symbols:
                if await self._rest_snapshot(symbol):
                    self.stats.rest_fallbacks += 1
            await trio.sleep(max(0.0, interval - min(interval, self.config.silence_timeout_s / 4)))
