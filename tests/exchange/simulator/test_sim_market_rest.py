"""The public market endpoints answer with Bybit v5 shapes."""

# ruff: noqa: PT018  # compound asserts read as one sentence about one message
from __future__ import annotations

import itertools
import json
import time
from decimal import Decimal
from pathlib import Path

from sim_helpers import Bybit, freeze

from exchange.simulator import INSTRUMENTS, Simulator

FIXTURES = Path("/work/shared/fixtures/bybit/rest")


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


async def test_server_time_is_wall_clock_in_the_envelope(bybit: Bybit) -> None:
    body = (await bybit.public("/v5/market/time")).json()
    assert set(body) == set(_fixture("market_time.json"))
    assert body["retCode"] == 0 and body["retMsg"] == "OK"
    assert abs(int(body["result"]["timeSecond"]) - time.time()) < 5
    assert int(body["result"]["timeNano"]) // 1_000_000_000 == int(body["result"]["timeSecond"])


async def test_kline_lists_bars_newest_first_with_string_numbers(bybit: Bybit) -> None:
    body = (
        await bybit.public("/v5/market/kline", category="linear", symbol="BTCUSDT", interval="5", limit="10")
    ).json()
    rows = body["result"]["list"]
    assert body["result"]["symbol"] == "BTCUSDT" and body["result"]["category"] == "linear"
    assert len(rows) == 10
    starts = [int(r[0]) for r in rows]
    assert starts == sorted(starts, reverse=True)
    assert all(a - b == 300_000 for a, b in itertools.pairwise(starts))
    for row in rows:
        assert len(row) == 7 and all(isinstance(v, str) for v in row)
        o, h, low, c = (Decimal(v) for v in row[1:5])
        assert low <= min(o, c) and max(o, c) <= h
        assert o % Decimal("0.10") == 0


async def test_kline_honours_start_and_end(bybit: Bybit) -> None:
    rows = (await bybit.public("/v5/market/kline", category="linear", symbol="ETHUSDT", interval="5")).json()
    rows = rows["result"]["list"]
    start, end = rows[5][0], rows[2][0]
    window = (
        await bybit.public(
            "/v5/market/kline", category="linear", symbol="ETHUSDT", interval="5", start=start, end=end
        )
    ).json()["result"]["list"]
    assert [r[0] for r in window] == [rows[2][0], rows[3][0], rows[4][0], rows[5][0]]


async def test_orderbook_matches_the_published_book(sim: Simulator, bybit: Bybit) -> None:
    await freeze(sim)
    body = (
        await bybit.public("/v5/market/orderbook", category="linear", symbol="BTCUSDT", limit="50")
    ).json()
    result = body["result"]
    assert set(result) == set(_fixture("market_orderbook_BTCUSDT_docs.json")["result"])
    assert len(result["b"]) == 50 and len(result["a"]) == 50
    bids = [Decimal(p) for p, _ in result["b"]]
    asks = [Decimal(p) for p, _ in result["a"]]
    assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
    assert bids[0] < asks[0]
    assert result["u"] == sim.market("BTCUSDT").u


async def test_tickers_carry_funding_rate_and_8_hour_funding_time(sim: Simulator, bybit: Bybit) -> None:
    body = (await bybit.public("/v5/market/tickers", category="linear", symbol="BTCUSDT")).json()
    ticker = body["result"]["list"][0]
    reference = _fixture("market_tickers_inverse_BTCUSD_docs.json")["result"]["list"][0]
    assert set(reference) <= set(ticker)
    assert int(ticker["nextFundingTime"]) % (8 * 3_600_000) == 0
    assert int(ticker["nextFundingTime"]) > sim.market("BTCUSDT").now_ms - 1
    assert abs(Decimal(ticker["fundingRate"])) <= Decimal("0.00375")
    every = (await bybit.public("/v5/market/tickers", category="linear")).json()["result"]["list"]
    assert {t["symbol"] for t in every} == {"BTCUSDT", "ETHUSDT"}


async def test_instruments_info_gives_tick_size_and_qty_step(bybit: Bybit) -> None:
    body = (await bybit.public("/v5/market/instruments-info", category="linear", symbol="BTCUSDT")).json()
    item = body["result"]["list"][0]
    reference = _fixture("market_instruments_info_linear_BTCUSDT_docs.json")["result"]["list"][0]
    assert set(reference) - {"symbolId"} <= set(item)
    assert item["priceFilter"]["tickSize"] == "0.10"
    assert item["lotSizeFilter"]["qtyStep"] == "0.001"
    assert item["lotSizeFilter"]["minOrderQty"] == "0.001"
    assert item["priceScale"] == "2"


def test_every_whitelisted_symbol_has_a_realistic_instrument() -> None:
    assert len(INSTRUMENTS) == 15
    assert INSTRUMENTS["ETHUSDT"].tick_size == Decimal("0.01") and INSTRUMENTS["ETHUSDT"].qty_step == Decimal(
        "0.01"
    )
    for spec in INSTRUMENTS.values():
        assert spec.start_price % spec.tick_size == 0
        assert spec.min_qty >= spec.qty_step


async def test_unknown_symbol_and_category_are_rejected_with_10001(bybit: Bybit) -> None:
    body = (await bybit.public("/v5/market/orderbook", category="linear", symbol="NOPEUSDT")).json()
    assert body["retCode"] == 10001 and body["result"] == {}
    body = (await bybit.public("/v5/market/tickers", category="spot", symbol="BTCUSDT")).json()
    assert body["retCode"] == 10001
