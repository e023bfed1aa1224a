"""Turn decoded Bybit v5 WebSocket pushes into typed events (D-02).

``parse_public`` handles ``kline``, ``orderbook``, ``publicTrade`` and ``tickers`` topics;
``parse_private`` handles ``order``, ``execution``, ``position`` and ``wallet``. Anything else, or any
payload missing a field or carrying a non-number where a number belongs, raises ``MessageParseError``.
The row converters (``order_from_raw`` …) are shared with the REST client, whose lists use the same keys.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from exchange.bybit.events import (
    BookDelta,
    BookSnapshot,
    CoinBalance,
    ExecutionReport,
    KlineUpdate,
    Level,
    OrderUpdate,
    PositionUpdate,
    PrivateEvent,
    PublicEvent,
    PublicTrade,
    TickerUpdate,
    WalletUpdate,
)
from exchange.errors import MessageParseError

__all__ = [
    "book_levels",
    "execution_from_raw",
    "order_from_raw",
    "parse_private",
    "parse_public",
    "position_from_raw",
    "wallet_from_raw",
]

_D = Decimal
_ZERO = Decimal(0)
_BIG = Decimal("1e30")
_RECOVERABLE = (KeyError, TypeError, ValueError, ArithmeticError, IndexError, AttributeError)

Raw = Mapping[str, Any]
EventT = TypeVar("EventT")


def _dec(value: Any) -> Decimal:
    """Return a finite Decimal or raise ``ValueError``."""
    if isinstance(value, (bool, float)):
        raise TypeError(f"expected a decimal string, got {value!r}")
    out = _D(value)
    if not out.is_finite():
        raise ValueError(f"expected a finite number, got {value!r}")
    return out


def _opt_dec(value: Any) -> Decimal | None:
    """Return ``None`` for Bybit's empty-string/absent numbers, else a finite Decimal."""
    if value is None or value == "":
        return None
    return _dec(value)


def _int(value: Any) -> int:
    """Return an int from Bybit's int or numeric-string millisecond fields."""
    if type(value) is int:
        return value
    if isinstance(value, (bool, float)):
        raise TypeError(f"expected an integer, got {value!r}")
    return int(value)


def _opt_int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return _int(value)


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected a boolean, got {value!r}")
    return value


def book_levels(raw: Any) -> tuple[Level, ...]:
    """Return ``(price, size)`` Decimal pairs from Bybit's ``[["price", "size"], ...]``.

    The hot path of the feed (bench/ws_ingest.py): one Decimal per number, one tuple per level, then one
    pass of plain comparisons (a NaN raises ``InvalidOperation`` there; infinities fail the bound).
    """
    out = tuple([(_D(p), _D(q)) for p, q in raw])
    for p, q in out:
        if not (_ZERO < p < _BIG and _ZERO <= q < _BIG):
            raise ValueError(f"expected a positive price and non-negative size, got {p} / {q}")
    return out


def _orderbook(msg: Raw, topic: str) -> list[PublicEvent]:
    data = msg["data"]
    kind = msg["type"]
    cls: type[BookSnapshot] | type[BookDelta]
    if kind == "delta":
        cls = BookDelta
    elif kind == "snapshot":
        cls = BookSnapshot
    else:
        raise ValueError(f"expected type snapshot or delta, got {kind!r}")
    symbol = data["s"]
    if type(symbol) is not str:
        raise TypeError(f"expected a symbol string, got {symbol!r}")
    cts = msg.get("cts")
    return [
        cls(
            symbol,
            book_levels(data["b"]),
            book_levels(data["a"]),
            _int(data["u"]),
            _int(data.get("seq", 0)),
            _int(msg["ts"]),
            None if cts is None else _int(cts),
        )
    ]


def _kline(msg: Raw, topic: str) -> list[PublicEvent]:
    symbol = topic.rsplit(".", 1)[1]
    if not symbol:
        raise ValueError("expected kline.{interval}.{symbol}")
    received_ns = time.perf_counter_ns()  # where close → signal latency starts (bench/pipeline.py)
    return [
        KlineUpdate(
            symbol=symbol,
            interval=_str(row["interval"]),
            start=_int(row["start"]),
            end=_int(row["end"]),
            open=_dec(row["open"]),
            high=_dec(row["high"]),
            low=_dec(row["low"]),
            close=_dec(row["close"]),
            volume=_dec(row["volume"]),
            turnover=_dec(row["turnover"]),
            confirm=_bool(row["confirm"]),
            ts=_int(row.get("timestamp", msg["ts"])),
            received_ns=received_ns,
        )
        for row in msg["data"]
    ]


def _trade(msg: Raw, topic: str) -> list[PublicEvent]:
    ts = _int(msg["ts"])
    return [
        PublicTrade(
            symbol=_str(row["s"]),
            trade_id=_str(row["i"]),
            side=_str(row["S"]),
            price=_dec(row["p"]),
            size=_dec(row["v"]),
            trade_time=_int(row["T"]),
            block_trade=_bool(row.get("BT", False)),
            ts=ts,
        )
        for row in msg["data"]
    ]


def _ticker(msg: Raw, topic: str) -> list[PublicEvent]:
    row = msg["data"]
    if not isinstance(row, Mapping):
        raise TypeError("expected ticker data to be an object")
    kind = msg.get("type", "snapshot")
    if kind not in ("snapshot", "delta"):
        raise ValueError(f"expected type snapshot or delta, got {kind!r}")
    return [
        TickerUpdate(
            symbol=_str(row["symbol"]),
            last=_opt_dec(row.get("lastPrice")),
            mark=_opt_dec(row.get("markPrice")),
            index=_opt_dec(row.get("indexPrice")),
            bid1=_opt_dec(row.get("bid1Price")),
            bid1_size=_opt_dec(row.get("bid1Size")),
            ask1=_opt_dec(row.get("ask1Price")),
            ask1_size=_opt_dec(row.get("ask1Size")),
            funding_rate=_opt_dec(row.get("fundingRate")),
            next_funding_time=_opt_int(row.get("nextFundingTime")),
            ts=_int(msg["ts"]),
            is_snapshot=kind == "snapshot",
        )
    ]


_PUBLIC: dict[str, Callable[[Raw, str], list[PublicEvent]]] = {
    "orderbook": _orderbook,
    "kline": _kline,
    "publicTrade": _trade,
    "tickers": _ticker,
}


def order_from_raw(row: Raw, category: str = "linear") -> OrderUpdate:
    """Return an ``OrderUpdate`` from one order row (WS ``order`` push or REST order list)."""
    return OrderUpdate(
        category=_str(row.get("category", category)),
        symbol=_str(row["symbol"]),
        order_id=_str(row["orderId"]),
        order_link_id=_str(row.get("orderLinkId", "")),
        side=_str(row["side"]),
        order_type=_str(row["orderType"]),
        price=_opt_dec(row.get("price")),
        qty=_dec(row["qty"]),
        time_in_force=_str(row.get("timeInForce", "")),
        status=_str(row["orderStatus"]),
        reduce_only=_bool(row.get("reduceOnly", False)),
        cum_exec_qty=_dec(row.get("cumExecQty") or "0"),
        cum_exec_value=_opt_dec(row.get("cumExecValue")),
        cum_exec_fee=_opt_dec(row.get("cumExecFee")),
        avg_price=_opt_dec(row.get("avgPrice")),
        leaves_qty=_opt_dec(row.get("leavesQty")),
        reject_reason=_str(row.get("rejectReason", "")),
        created_time=_int(row["createdTime"]),
        updated_time=_int(row["updatedTime"]),
        trigger_price=_opt_dec(row.get("triggerPrice")),
        trigger_direction=_int(row.get("triggerDirection") or 0),
        stop_order_type=_str(row.get("stopOrderType") or ""),
        close_on_trigger=_bool(row.get("closeOnTrigger", False)),
        cancel_type=_str(row.get("cancelType") or ""),
        closed_pnl=_opt_dec(row.get("closedPnl")),
    )


def execution_from_raw(row: Raw, category: str = "linear") -> ExecutionReport:
    """Return an ``ExecutionReport`` from one execution row (WS ``execution`` or REST list)."""
    return ExecutionReport(
        category=_str(row.get("category", category)),
        symbol=_str(row["symbol"]),
        exec_id=_str(row["execId"]),
        order_id=_str(row["orderId"]),
        order_link_id=_str(row.get("orderLinkId", "")),
        side=_str(row["side"]),
        exec_price=_dec(row["execPrice"]),
        exec_qty=_dec(row["execQty"]),
        exec_value=_opt_dec(row.get("execValue")),
        exec_fee=_opt_dec(row.get("execFee")),
        fee_rate=_opt_dec(row.get("feeRate")),
        exec_type=_str(row.get("execType", "Trade")),
        exec_time=_int(row["execTime"]),
        is_maker=_bool(row.get("isMaker", False)),
        closed_size=_opt_dec(row.get("closedSize")),
        leaves_qty=_opt_dec(row.get("leavesQty")),
        exec_pnl=_opt_dec(row.get("execPnl")),
        order_type=_str(row.get("orderType") or ""),
        stop_order_type=_str(row.get("stopOrderType") or ""),
    )


def position_from_raw(row: Raw, category: str = "linear") -> PositionUpdate:
    """Return a ``PositionUpdate`` from one position row (WS uses entryPrice, REST avgPrice)."""
    entry = row.get("entryPrice", row.get("avgPrice"))
    return PositionUpdate(
        category=_str(row.get("category", category)),
        symbol=_str(row["symbol"]),
        side=_str(row.get("side", "")),
        size=_dec(row["size"]),
        entry_price=_opt_dec(entry),
        mark_price=_opt_dec(row.get("markPrice")),
        leverage=_opt_dec(row.get("leverage")),
        position_value=_opt_dec(row.get("positionValue")),
        unrealised_pnl=_opt_dec(row.get("unrealisedPnl")),
        cum_realised_pnl=_opt_dec(row.get("cumRealisedPnl")),
        liq_price=_opt_dec(row.get("liqPrice")),
        take_profit=_opt_dec(row.get("takeProfit")),
        stop_loss=_opt_dec(row.get("stopLoss")),
        position_idx=_int(row.get("positionIdx", 0)),
        updated_time=_int(row.get("updatedTime") or 0),
    )


def wallet_from_raw(row: Raw) -> WalletUpdate:
    """Return a ``WalletUpdate`` from one wallet row (WS ``wallet`` or REST wallet-balance list)."""
    coins = tuple(
        CoinBalance(
            coin=_str(c["coin"]),
            equity=_opt_dec(c.get("equity")),
            wallet_balance=_opt_dec(c.get("walletBalance")),
            unrealised_pnl=_opt_dec(c.get("unrealisedPnl")),
            cum_realised_pnl=_opt_dec(c.get("cumRealisedPnl")),
            locked=_opt_dec(c.get("locked")),
        )
        for c in row.get("coin", ())
    )
    return WalletUpdate(
        account_type=_str(row.get("accountType", "")),
        total_equity=_opt_dec(row.get("totalEquity")),
        total_wallet_balance=_opt_dec(row.get("totalWalletBalance")),
        total_margin_balance=_opt_dec(row.get("totalMarginBalance")),
        total_available_balance=_opt_dec(row.get("totalAvailableBalance")),
        coins=coins,
    )


def _rows(convert: Callable[[Raw], PrivateEvent]) -> Callable[[Raw, str], list[PrivateEvent]]:
    """Return a topic parser that converts each row of a private push's ``data`` list."""

    def parse(msg: Raw, topic: str) -> list[PrivateEvent]:
        rows = msg["data"]
        if not isinstance(rows, list):
            raise TypeError("expected data to be a list")
        return [convert(row) for row in rows]

    return parse


_PRIVATE: dict[str, Callable[[Raw, str], list[PrivateEvent]]] = {
    "order": _rows(order_from_raw),
    "execution": _rows(execution_from_raw),
    "position": _rows(position_from_raw),
    "wallet": _rows(wallet_from_raw),
}


def _topic_of(msg: Any) -> str:
    if type(msg) is not dict and not isinstance(msg, Mapping):
        raise MessageParseError(f"expected a JSON object, got {type(msg).__name__}")
    topic = msg.get("topic")
    if not isinstance(topic, str):
        raise MessageParseError(f"expected a topic string, got {topic!r} (op={msg.get('op')!r})")
    return topic


def _dispatch(
    msg: Any, parsers: Mapping[str, Callable[[Raw, str], list[EventT]]], channel: str
) -> list[EventT]:
    """Route ``msg`` to the parser of its topic's first segment; translate parse failures (D-02)."""
    topic = _topic_of(msg)
    parser = parsers.get(topic.split(".", 1)[0])
    if parser is None:
        raise MessageParseError(f"unknown {channel} topic {topic!r}", topic=topic)
    try:
        return parser(msg, topic)
    except _RECOVERABLE as exc:
        raise MessageParseError(f"malformed {topic} message: {exc!r}", topic=topic) from exc


def parse_public(msg: dict[str, Any]) -> list[PublicEvent]:
    """Return the typed events carried by one public-topic push.

    Raises:
        MessageParseError: the message has no known topic or a malformed payload.
    """
    return _dispatch(msg, _PUBLIC, "public")


def parse_private(msg: dict[str, Any]) -> list[PrivateEvent]:
    """Return the typed events carried by one private-topic push (``order``, ``execution`` …).

    Raises:
        MessageParseError: the message has no known topic or a malformed payload.
    """
    return _dispatch(msg, _PRIVATE, "private")
