"""The market loop's publication step: turn market changes into Bybit public topic messages.

Owns the ``orderbook.50`` sequencing (``u`` +1 per delta, ``seq`` increasing, ``u`` = 1 on a reset
snapshot) and applies the feed faults that live at that level: sequence gaps, ``u`` resets and stale data.
"""

from __future__ import annotations

from typing import Any

from exchange.simulator.faults import Faults
from exchange.simulator.hub import Hub
from exchange.simulator.market import Market, StepResult
from exchange.simulator.matching import MatchingEngine
from exchange.simulator.wire import book_levels, kline_ws, ticker_fields, trade_ws

__all__ = ["Publisher"]


class Publisher:
    """Publish every market's changes to the hub and run the per-step matching work.

    Args:
        markets: the markets by symbol.
        engine: matching engine (resting fills, funding).
        hub: WebSocket fan-out.
        faults: fault knobs.
    """

    def __init__(self, markets: dict[str, Market], engine: MatchingEngine, hub: Hub, faults: Faults) -> None:
        self._markets = markets
        self._engine = engine
        self._hub = hub
        self._faults = faults
        self._tickers: dict[str, dict[str, str]] = {s: ticker_fields(m) for s, m in markets.items()}
        self._last_kline: dict[str, dict[str, Any]] = {}
        self._last_ticker_ts: dict[str, int] = {s: m.now_ms for s, m in markets.items()}

    # ----------------------------------------------------------------------------- snapshots
    def snapshot(self, topic: str) -> dict[str, Any] | None:
        """Return the message sent right after subscribing to ``topic`` (book and ticker), else None."""
        kind, _, symbol = topic.rpartition(".")
        market = self._markets.get(symbol)
        if market is None:
            return None
        if kind == "orderbook.50":
            return self._book_message(market, "snapshot")
        if kind == "tickers":
            return {
                "topic": topic,
                "type": "snapshot",
                "data": dict(self._tickers[symbol]),
                "cs": market.seq,
                "ts": self._last_ticker_ts[symbol],
            }
        return None

    def _book_message(
        self, market: Market, kind: str, diff_bids: Any = None, diff_asks: Any = None
    ) -> dict[str, Any]:
        if kind == "snapshot":
            bids, asks = market.book.published()
        else:
            bids, asks = diff_bids, diff_asks
        ts = market.now_ms
        return {
            "topic": f"orderbook.50.{market.spec.symbol}",
            "type": kind,
            "ts": ts,
            "data": {
                "s": market.spec.symbol,
                "b": book_levels(market, bids),
                "a": book_levels(market, asks),
                "u": market.u,
                "seq": market.seq,
            },
            "cts": ts,
        }

    # ----------------------------------------------------------------------------- step
    def step(self, now_ms: int) -> None:
        """Advance every market to ``now_ms`` and publish what changed (or repeat stale data)."""
        if self._faults.stale:
            self._repeat_stale()
            return
        for market in self._markets.values():
            result = market.step(now_ms)
            for at_ms in result.fundings:
                self._engine.settle_funding(market, at_ms)
            self._engine.on_step(market)
            self._publish(market, result)

    def _publish(self, market: Market, result: StepResult) -> None:
        symbol = market.spec.symbol
        hub = self._hub
        now = market.now_ms
        kline_topic = f"kline.5.{symbol}"
        muted = self._faults.mute_klines
        for bar in result.closed if not muted else ():
            hub.publish(
                kline_topic,
                {
                    "topic": kline_topic,
                    "data": [kline_ws(market, bar, True, now)],
                    "ts": now,
                    "type": "snapshot",
                },
            )
        if result.bar_changed and not muted:
            message = {
                "topic": kline_topic,
                "data": [kline_ws(market, market.bar, False, now)],
                "ts": now,
                "type": "snapshot",
            }
            self._last_kline[symbol] = message
            hub.publish(kline_topic, message)
        if result.trades:
            topic = f"publicTrade.{symbol}"
            hub.publish(
                topic,
                {
                    "topic": topic,
                    "type": "snapshot",
                    "ts": now,
                    "data": [trade_ws(market, t) for t in result.trades],
                },
            )
        self._publish_book(market)
        self._publish_ticker(market, now)

    def _publish_book(self, market: Market) -> None:
        rng = market.rng
        if self._faults.take("u_reset"):
            market.book.mark_published()
            market.u = 1
            market.seq += rng.randint(1, 20)
            self._hub.publish(f"orderbook.50.{market.spec.symbol}", self._book_message(market, "snapshot"))
            return
        diff = market.book.diff()
        if not diff:
            return
        market.u += 2 if self._faults.take("seq_gap") else 1
        market.seq += rng.randint(1, 20)
        self._hub.publish(
            f"orderbook.50.{market.spec.symbol}", self._book_message(market, "delta", diff.bids, diff.asks)
        )

    def _publish_ticker(self, market: Market, now: int) -> None:
        symbol = market.spec.symbol
        fields = ticker_fields(market)
        previous = self._tickers[symbol]
        changed = {k: v for k, v in fields.items() if previous.get(k) != v}
        if not changed:
            return
        self._tickers[symbol] = fields
        self._last_ticker_ts[symbol] = now
        topic = f"tickers.{symbol}"
        self._hub.publish(
            topic,
            {
                "topic": topic,
                "type": "delta",
                "data": {"symbol": symbol, **changed},
                "cs": market.seq,
                "ts": now,
            },
        )

    def _repeat_stale(self) -> None:
        for symbol in self._markets:
            message = self.snapshot(f"tickers.{symbol}")
            if message is not None:
                self._hub.publish(f"tickers.{symbol}", message)
            kline = self._last_kline.get(symbol)
            if kline is not None:
                self._hub.publish(f"kline.5.{symbol}", kline)
