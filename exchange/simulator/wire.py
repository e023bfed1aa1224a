"""Bybit v5 wire shapes of market data: the REST envelope and public topic payloads.

Every number leaves as a string the way Bybit writes it (prices with the instrument's decimals), except the
integer fields Bybit sends as JSON numbers (``ts``, ``u``, ``seq``, kline ``start``/``end``, trade ``T``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from exchange.simulator.book import Level
from exchange.simulator.clock import wall_ms
from exchange.simulator.market import Bar, Market, PublicTrade
from exchange.simulator.replay import BAR_MS

__all__ = [
    "book_levels",
    "envelope",
    "fmt",
    "kline_row",
    "kline_ws",
    "ticker_fields",
    "trade_ws",
]


def fmt(value: Decimal) -> str:
    """Write a Decimal as Bybit does: plain notation, no exponent, ``"0"`` for zero."""
    if not value:
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def envelope(result: Any, ret_code: int = 0, ret_msg: str = "OK") -> dict[str, Any]:
    """Wrap a result in Bybit's response envelope (``retCode``, ``retMsg``, ``result``, …, ``time``)."""
    return {"retCode": ret_code, "retMsg": ret_msg, "result": result, "retExtInfo": {}, "time": wall_ms()}


def book_levels(market: Market, levels: list[Level]) -> list[list[str]]:
    """Render (ticks, steps) levels as Bybit's ``[["price", "size"], …]``."""
    spec = market.spec
    return [[str(spec.price_of(p)), str(spec.qty_of(s))] for p, s in levels]


def kline_row(market: Market, bar: Bar) -> list[str]:
    """Render a bar as a REST kline row: start, open, high, low, close, volume, turnover."""
    spec = market.spec
    return [
        str(bar.start_ms),
        str(spec.price_of(bar.open)),
        str(spec.price_of(bar.high)),
        str(spec.price_of(bar.low)),
        str(spec.price_of(bar.close)),
        str(spec.qty_of(bar.volume)),
        fmt(bar.turnover.quantize(Decimal("0.0001"))),
    ]


def kline_ws(market: Market, bar: Bar, confirm: bool, ts: int) -> dict[str, Any]:
    """Render a bar as one element of a ``kline.5.SYMBOL`` push."""
    spec = market.spec
    return {
        "start": bar.start_ms,
        "end": bar.start_ms + BAR_MS - 1,
        "interval": "5",
        "open": str(spec.price_of(bar.open)),
        "close": str(spec.price_of(bar.close)),
        "high": str(spec.price_of(bar.high)),
        "low": str(spec.price_of(bar.low)),
        "volume": str(spec.qty_of(bar.volume)),
        "turnover": fmt(bar.turnover.quantize(Decimal("0.0001"))),
        "confirm": confirm,
        "timestamp": ts,
    }


def trade_ws(market: Market, trade: PublicTrade) -> dict[str, Any]:
    """Render a trade as one element of a ``publicTrade.SYMBOL`` push."""
    tid = trade.trade_id
    return {
        "T": trade.time_ms,
        "s": market.spec.symbol,
        "S": "Buy" if trade.buy else "Sell",
        "v": str(market.spec.qty_of(trade.size)),
        "p": str(market.spec.price_of(trade.price)),
        "L": "PlusTick" if trade.buy else "MinusTick",
        "i": f"{tid[:8]}-{tid[8:12]}-{tid[12:16]}-{tid[16:20]}-{tid[20:]}",
        "BT": False,
        "seq": trade.seq,
    }


def ticker_fields(market: Market) -> dict[str, str]:
    """Return the linear ticker of ``market`` (the fields of a snapshot, all strings)."""
    spec = market.spec
    bars = market.bars[-288:]
    day = [*bars, market.bar]
    hour = [*market.bars[-12:], market.bar]
    high = max(b.high for b in day)
    low = min(b.low for b in day)
    volume = sum(b.volume for b in day)
    turnover = sum((b.turnover for b in day), Decimal(0))
    last = spec.price_of(market.last)
    prev24 = spec.price_of(day[0].open)
    bids, asks = market.book.published(1)
    bid = bids[0] if bids else (market.last, 0)
    ask = asks[0] if asks else (market.last, 0)
    mark = last
    return {
        "symbol": spec.symbol,
        "tickDirection": "PlusTick" if market.bar.close >= market.bar.open else "MinusTick",
        "price24hPcnt": fmt(((last - prev24) / prev24).quantize(Decimal("0.000001"))),
        "lastPrice": str(last),
        "prevPrice24h": str(prev24),
        "highPrice24h": str(spec.price_of(high)),
        "lowPrice24h": str(spec.price_of(low)),
        "prevPrice1h": str(spec.price_of(hour[0].open)),
        "markPrice": str(mark),
        "indexPrice": str(market.mid().quantize(spec.tick_size)),
        "openInterest": str(market.open_interest),
        "openInterestValue": fmt((market.open_interest * mark).quantize(Decimal("0.01"))),
        "turnover24h": fmt(turnover.quantize(Decimal("0.0001"))),
        "volume24h": str(spec.qty_of(volume)),
        "fundingIntervalHour": str(market.funding_interval_ms // 3_600_000),
        "fundingCap": "0.00375",
        "nextFundingTime": str(market.next_funding_ms),
        "fundingRate": fmt(market.funding_rate),
        "bid1Price": str(spec.price_of(bid[0])),
        "bid1Size": str(spec.qty_of(bid[1])),
        "ask1Price": str(spec.price_of(ask[0])),
        "ask1Size": str(spec.qty_of(ask[1])),
        "preOpenPrice": "",
        "preQty": "",
        "curPreListingPhase": "",
    }
