"""Handlers of the public market endpoints (``/v5/market/*``)."""

from __future__ import annotations

import time
from typing import Any

from exchange.simulator.accounts import Account
from exchange.simulator.errors import BybitRejection
from exchange.simulator.market import Market
from exchange.simulator.wire import book_levels, fmt, kline_row, ticker_fields

__all__ = ["MarketApi", "int_param", "require_linear"]


def require_linear(params: dict[str, Any]) -> None:
    """Refuse any category but ``linear`` (10001)."""
    category = params.get("category")
    if not category:
        raise BybitRejection(10001, "params error: category is required")
    if category != "linear":
        raise BybitRejection(10001, f"params error: category {category} is not supported by the simulator")


def int_param(
    params: dict[str, Any], name: str, default: int | None, low: int = 0, high: int | None = None
) -> int | None:
    """Return an integer query parameter within [low, high], or ``default`` when absent (10001 if bad)."""
    raw = params.get(name)
    if raw in (None, ""):
        return default
    text = str(raw)
    if not text.isdigit():
        raise BybitRejection(10001, f"params error: {name} must be an integer")
    value = int(text)
    if value < low or (high is not None and value > high):
        raise BybitRejection(10001, f"params error: {name} out of range [{low}, {high}]")
    return value


class MarketApi:
    """Serve market data from the simulated markets.

    Args:
        markets: the markets by symbol.
    """

    def __init__(self, markets: dict[str, Market]) -> None:
        self._markets = markets

    def _market(self, params: dict[str, Any]) -> Market:
        require_linear(params)
        symbol = params.get("symbol")
        if not symbol:
            raise BybitRejection(10001, "params error: symbol is required")
        market = self._markets.get(str(symbol))
        if market is None:
            raise BybitRejection(10001, "params error: symbol invalid")
        return market

    def time(self, params: dict[str, Any], account: Account | None) -> dict[str, Any]:
        """``GET /v5/market/time``: wall-clock server time."""
        ns = time.time_ns()
        return {"timeSecond": str(ns // 1_000_000_000), "timeNano": str(ns)}

    def kline(self, params: dict[str, Any], account: Account | None) -> dict[str, Any]:
        """``GET /v5/market/kline``: 5-minute bars, newest first, including the bar in progress."""
        market = self._market(params)
        if str(params.get("interval", "")) != "5":
            raise BybitRejection(10001, "params error: the simulator only serves interval 5")
        start = int_param(params, "start", None)
        end = int_param(params, "end", None)
        limit = int_param(params, "limit", 200, 1, 1000) or 200
        bars = market.klines(start, end, limit)
        return {
            "category": "linear",
            "symbol": market.spec.symbol,
            "list": [kline_row(market, b) for b in bars],
        }

    def orderbook(self, params: dict[str, Any], account: Account | None) -> dict[str, Any]:
        """``GET /v5/market/orderbook``: the last published book (consistent with the WS ``u``)."""
        market = self._market(params)
        limit = int_param(params, "limit", 25, 1, 500) or 25
        bids, asks = market.book.published(limit)
        ts = market.now_ms
        return {
            "s": market.spec.symbol,
            "b": book_levels(market, bids),
            "a": book_levels(market, asks),
            "ts": ts,
            "u": market.u,
            "seq": market.seq,
            "cts": ts,
        }

    def tickers(self, params: dict[str, Any], account: Account | None) -> dict[str, Any]:
        """``GET /v5/market/tickers``: one symbol's ticker, or every symbol's."""
        require_linear(params)
        symbol = params.get("symbol")
        chosen = [self._market(params)] if symbol else list(self._markets.values())
        return {"category": "linear", "list": [ticker_fields(m) | _ticker_extra() for m in chosen]}

    def instruments(self, params: dict[str, Any], account: Account | None) -> dict[str, Any]:
        """``GET /v5/market/instruments-info``: tick size, qty step and limits."""
        require_linear(params)
        symbol = params.get("symbol")
        chosen = [self._market(params)] if symbol else list(self._markets.values())
        return {"category": "linear", "list": [_instrument(m) for m in chosen], "nextPageCursor": ""}


def _ticker_extra() -> dict[str, str]:
    return {
        "predictedDeliveryPrice": "",
        "basisRate": "",
        "deliveryFeeRate": "",
        "deliveryTime": "0",
        "basis": "",
        "basisRateYear": "",
    }


def _instrument(market: Market) -> dict[str, Any]:
    spec = market.spec
    return {
        "symbol": spec.symbol,
        "contractType": "LinearPerpetual",
        "status": "Trading",
        "baseCoin": spec.base_coin,
        "quoteCoin": "USDT",
        "launchTime": "1585526400000",
        "deliveryTime": "0",
        "deliveryFeeRate": "",
        "priceScale": str(spec.price_scale),
        "leverageFilter": {
            "minLeverage": "1",
            "maxLeverage": f"{spec.max_leverage:.2f}",
            "leverageStep": "0.01",
        },
        "priceFilter": {
            "minPrice": str(spec.tick_size),
            "maxPrice": str((spec.start_price * 1000).quantize(spec.tick_size)),
            "tickSize": str(spec.tick_size),
        },
        "lotSizeFilter": {
            "maxOrderQty": str(spec.max_qty),
            "minOrderQty": str(spec.min_qty),
            "qtyStep": str(spec.qty_step),
            "postOnlyMaxOrderQty": str(spec.max_qty),
            "maxMktOrderQty": str(spec.max_mkt_qty),
            "minNotionalValue": fmt(spec.min_notional),
        },
        "unifiedMarginTrade": True,
        "fundingInterval": market.funding_interval_ms // 60_000,
        "settleCoin": "USDT",
        "copyTrading": "both",
        "upperFundingRate": "0.00375",
        "lowerFundingRate": "-0.00375",
        "isPreListing": False,
        "preListingInfo": None,
        "riskParameters": {"priceLimitRatioX": "0.01", "priceLimitRatioY": "0.02"},
        "symbolType": "",
    }
