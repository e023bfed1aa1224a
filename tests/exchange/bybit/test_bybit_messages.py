"""Parsers turn Bybit's documented pushes into typed Decimal events; bad input raises MessageParseError."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import time
from decimal import Decimal
from typing import Any

import pytest
from bybit_fakes import shared_fixture
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange.bybit.events import (
    BookDelta,
    BookSnapshot,
    ExecutionReport,
    KlineUpdate,
    OrderUpdate,
    PositionUpdate,
    PublicTrade,
    TickerUpdate,
    WalletUpdate,
)
from exchange.bybit.messages import parse_private, parse_public
from exchange.errors import MessageParseError


def test_kline_push_becomes_a_kline_update() -> None:
    [k] = parse_public(shared_fixture("ws_public/kline_5_BTCUSDT_confirm_false.json"))
    assert isinstance(k, KlineUpdate)
    assert (k.symbol, k.interval, k.start, k.end) == ("BTCUSDT", "5", 1672324800000, 1672325099999)
    assert (k.open, k.high, k.low, k.close) == (
        Decimal("16649.5"),
        Decimal("16677"),
        Decimal("16608"),
        Decimal("16677"),
    )
    assert k.volume == Decimal("2.081")
    assert k.turnover == Decimal("34666.4005")
    assert k.confirm is False
    assert k.ts == 1672324988882


def test_a_parsed_kline_carries_its_receipt_time_which_equality_ignores() -> None:
    before = time.perf_counter_ns()
    [k] = parse_public(shared_fixture("ws_public/kline_5_BTCUSDT_confirm_false.json"))
    [again] = parse_public(shared_fixture("ws_public/kline_5_BTCUSDT_confirm_false.json"))
    assert before <= k.received_ns <= again.received_ns <= time.perf_counter_ns()
    assert k == dataclasses.replace(again, received_ns=0)  # the same candle, whenever it was received


def test_orderbook_snapshot_and_delta_carry_decimal_levels_and_sequence() -> None:
    [snap] = parse_public(shared_fixture("ws_public/orderbook_50_BTCUSDT_snapshot_docs_trimmed.json"))
    assert isinstance(snap, BookSnapshot)
    assert snap.bids[0] == (Decimal("16493.50"), Decimal("0.006"))
    assert snap.asks[1] == (Decimal("16612.00"), Decimal("0.213"))
    assert (snap.u, snap.seq, snap.ts) == (18521288, 7961638724, 1672304484978)
    [delta] = parse_public(shared_fixture("ws_public/orderbook_50_BTCUSDT_delta_docs.json"))
    assert isinstance(delta, BookDelta)
    assert delta.bids[-1] == (Decimal("30240.00"), Decimal("0"))
    assert (delta.u, delta.seq, delta.cts) == (177400507, 66544703342, 1687940967464)


def test_public_trade_push() -> None:
    [t] = parse_public(shared_fixture("ws_public/publicTrade_BTCUSDT.json"))
    assert isinstance(t, PublicTrade)
    assert (t.symbol, t.side, t.price, t.size) == ("BTCUSDT", "Buy", Decimal("16578.50"), Decimal("0.001"))
    assert t.trade_id == "20f43950-d8dd-5b31-9112-a178eb6023af"
    assert t.block_trade is False


@pytest.mark.parametrize(
    "name", ["tickers_BTCUSDT_linear_snapshot.json", "tickers_BTCUSDT_linear_snapshot_docs_2023.json"]
)
def test_ticker_push_has_mark_funding_and_top_of_book(name: str) -> None:
    msg = shared_fixture(f"ws_public/{name}")
    [t] = parse_public(msg)
    assert isinstance(t, TickerUpdate)
    assert t.is_snapshot
    assert t.mark == Decimal(msg["data"]["markPrice"])
    assert t.funding_rate == Decimal(msg["data"]["fundingRate"])
    assert t.next_funding_time == int(msg["data"]["nextFundingTime"])
    assert t.bid1 == Decimal(msg["data"]["bid1Price"])
    assert t.ask1 == Decimal(msg["data"]["ask1Price"])


def test_ticker_delta_leaves_absent_fields_none() -> None:
    msg = {
        "topic": "tickers.BTCUSDT",
        "type": "delta",
        "ts": 5,
        "data": {"symbol": "BTCUSDT", "markPrice": "1.5"},
    }
    [t] = parse_public(msg)
    assert isinstance(t, TickerUpdate)
    assert t.mark == Decimal("1.5")
    assert t.last is None
    assert not t.is_snapshot


def test_private_pushes_become_typed_events() -> None:
    [o] = parse_private(shared_fixture("ws_private/order_push.json"))
    assert isinstance(o, OrderUpdate)
    assert o.status == "Filled"
    assert o.cum_exec_qty == Decimal("1")
    assert o.leaves_qty is None  # Bybit sends "" for options
    [e] = parse_private(shared_fixture("ws_private/execution_push.json"))
    assert isinstance(e, ExecutionReport)
    assert (e.exec_price, e.exec_qty, e.exec_fee) == (
        Decimal("95900.1"),
        Decimal("0.5"),
        Decimal("26.3725275"),
    )
    assert e.exec_time == 1746270400353
    assert e.is_maker is False
    [p] = parse_private(shared_fixture("ws_private/position_push.json"))
    assert isinstance(p, PositionUpdate)
    assert p.size == Decimal("0")
    assert p.cum_realised_pnl == Decimal("-25.06579337")
    [w] = parse_private(shared_fixture("ws_private/wallet_push.json"))
    assert isinstance(w, WalletUpdate)
    assert w.total_equity == Decimal("10262.91335023")
    assert w.coins[0].coin == "BTC"
    assert w.coins[0].wallet_balance == Decimal("0.00102964")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda m: m.pop("topic"),
        lambda m: m.__setitem__("topic", "nonsense.BTCUSDT"),
        lambda m: m["data"].__setitem__("b", [["abc", "1"]]),
        lambda m: m["data"].__setitem__("b", [["NaN", "1"]]),
        lambda m: m["data"].__setitem__("b", [["-5", "1"]]),
        lambda m: m["data"].__setitem__("a", [["1", "2", "3"]]),
        lambda m: m["data"].pop("u"),
        lambda m: m.__setitem__("type", "weird"),
        lambda m: m.__setitem__("data", None),
    ],
)
def test_malformed_public_messages_raise_message_parse_error(mutate: Any) -> None:
    msg = copy.deepcopy(shared_fixture("ws_public/orderbook_50_BTCUSDT_delta_docs.json"))
    mutate(msg)
    with pytest.raises(MessageParseError):
        parse_public(msg)


@pytest.mark.parametrize(
    "msg",
    [
        {"topic": "order", "data": {}},
        {"topic": "execution", "data": [{"execId": 1}]},
        {"topic": "unknown", "data": []},
        {"op": "pong"},
        [],
    ],
)
def test_malformed_private_messages_raise_message_parse_error(msg: Any) -> None:
    with pytest.raises(MessageParseError):
        parse_private(msg)


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(max_size=8)
    | st.sampled_from(["1", "0", "NaN", "-1", "", "1e9999", "BTCUSDT", "snapshot", "delta"]),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=5)
    ),
    max_leaves=20,
)
_topics = st.sampled_from(
    [
        "orderbook.50.BTCUSDT",
        "kline.5.BTCUSDT",
        "publicTrade.BTCUSDT",
        "tickers.BTCUSDT",
        "order",
        "execution",
        "position",
        "wallet",
        "x",
    ]
)
_keys = st.sampled_from(
    [
        "s",
        "b",
        "a",
        "u",
        "seq",
        "symbol",
        "start",
        "open",
        "p",
        "v",
        "i",
        "T",
        "S",
        "orderId",
        "execId",
        "execPrice",
        "execQty",
        "execTime",
        "size",
        "coin",
        "qty",
    ]
)


@settings(max_examples=400, deadline=None)
@given(
    topic=_topics,
    kind=st.sampled_from(["snapshot", "delta", 3]),
    ts=_json,
    data=st.dictionaries(_keys, _json, max_size=8)
    | st.lists(st.dictionaries(_keys, _json, max_size=8), max_size=3),
)
def test_no_input_crashes_the_parsers(topic: str, kind: Any, ts: Any, data: Any) -> None:
    msg = {"topic": topic, "type": kind, "ts": ts, "data": data}
    for parse in (parse_public, parse_private):
        with contextlib.suppress(MessageParseError):
            parse(msg)


@settings(max_examples=200, deadline=None)
@given(msg=_json)
def test_arbitrary_json_never_escapes_as_another_exception(msg: Any) -> None:
    for parse in (parse_public, parse_private):
        with contextlib.suppress(MessageParseError):
            parse(msg)
