"""The pipeline's ``MarketStore`` on real PostgreSQL: candles, signal statuses, the L50 book log, resume."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from exchange.bybit import BookSnapshot
from storage import Storage, StoredKline
from strategy_core import ConfirmedCandle, Side, Signal

T0 = dt.datetime(2026, 4, 1, 12, 0, tzinfo=dt.UTC)
BAR = dt.timedelta(minutes=5)


def _candle(symbol: str, i: int, close: str = "100.5") -> ConfirmedCandle:
    start = T0 + i * BAR
    return ConfirmedCandle(
        symbol=symbol, start=start, end=start + BAR, open=Decimal(100), high=Decimal(101), low=Decimal(99),
        close=Decimal(close), volume=Decimal("12.345678901"), turnover=Decimal("1234.5"),
    )


def _signal(symbol: str) -> Signal:
    return Signal(
        id=uuid.uuid4(), symbol=symbol, side=Side.LONG, entry=Decimal(100), tp1=Decimal(102),
        tp2=Decimal(103), tp3=Decimal(104), sl=Decimal(99), qty=Decimal(25), risk_usd=Decimal(25),
        risk_r=Decimal(1), p_win=Decimal("0.6"), strategy="avi5", strategy_version="1", created_at=T0,
        bar_start=T0,
    )


async def test_candles_are_stored_once_with_their_source_and_read_back_oldest_first(storage: Storage) -> None:
    market = storage.market(source="rest")
    assert await market.store_candle(_candle("BTCUSDT", 0)) is True
    assert await market.store_candle(_candle("BTCUSDT", 0, close="100.7")) is False  # the first copy stays
    assert await market.store_candles([_candle("BTCUSDT", i) for i in range(3)]) == 2
    assert await market.last_candles("BTCUSDT", 2) == [_candle("BTCUSDT", 1), _candle("BTCUSDT", 2)]
    sources = await storage.db.fetch("SELECT DISTINCT source FROM klines_5m WHERE symbol = 'BTCUSDT'")
    assert [r["source"] for r in sources] == ["rest"]


async def test_a_stored_bar_that_is_no_valid_candle_is_skipped(storage: Storage) -> None:
    good = _candle("ETHUSDT", 0)
    unaligned = StoredKline(
        "ETHUSDT", T0 + dt.timedelta(minutes=8), good.open, good.high, good.low, good.close, good.volume,
        good.turnover,
    )
    await storage.klines.upsert([good, unaligned])
    assert await storage.market().last_candles("ETHUSDT", 5) == [good]


async def test_a_signal_is_stored_with_its_status_and_a_denial_with_its_reason(storage: Storage) -> None:
    market = storage.market()
    fresh, denied = _signal("SOLUSDT"), _signal("ADAUSDT")
    assert await market.store_signal(fresh, "new", None) is True
    assert await market.store_signal(fresh, "new", None) is False
    assert await market.store_signal(denied, "denied", "expected fewer than 3 positions, got 3") is True
    stored_fresh, stored_denied = await storage.signals.get(fresh.id), await storage.signals.get(denied.id)
    assert stored_fresh is not None
    assert stored_denied is not None
    assert (stored_fresh.status, stored_fresh.error_code, stored_fresh.queued_until) == ("new", None, None)
    assert (stored_denied.status, stored_denied.error_code, stored_denied.error_message) == (
        "denied", "risk_denied", "expected fewer than 3 positions, got 3"
    )
    assert stored_denied.entry == Decimal(100)


async def test_book_snapshots_are_logged_once_with_exact_levels(storage: Storage) -> None:
    market = storage.market()
    bids = ((Decimal("100.25"), Decimal("1.5")), (Decimal("100.2"), Decimal("0.000001")))
    asks = ((Decimal("100.3"), Decimal("2")),)
    snapshot = BookSnapshot("XRPUSDT", bids, asks, u=7, seq=70, ts=int(T0.timestamp() * 1000), cts=None)
    await market.log_book(snapshot)
    await market.log_book(snapshot)  # re-delivered: no second row
    one_sided = BookSnapshot("XRPUSDT", bids, (), u=8, seq=80, ts=snapshot.ts, cts=None)
    await market.log_book(one_sided)  # no spread: skipped
    rows = await storage.db.fetch(
        "SELECT captured_at, update_id, seq, best_bid, best_ask, bids, asks FROM orderbook_l50_log "
        "WHERE symbol = 'XRPUSDT'"
    )
    assert [(r["captured_at"], r["update_id"], r["seq"], r["best_bid"], r["best_ask"]) for r in rows] == [
        (T0, 7, 70, Decimal("100.25"), Decimal("100.3"))
    ]
    assert rows[0]["bids"] == [["100.25", "1.5"], ["100.2", "0.000001"]]
    assert rows[0]["asks"] == [["100.3", "2"]]


async def test_latest_open_is_the_newest_bar_of_any_given_symbol(storage: Storage) -> None:
    assert await storage.klines.latest_open(["DOTUSDT", "LTCUSDT"]) is None
    bars = [_candle("DOTUSDT", 3), _candle("LTCUSDT", 7), _candle("BNBUSDT", 8)]  # BNB: not asked about
    await storage.market().store_candles(bars)
    assert await storage.klines.latest_open(["DOTUSDT", "LTCUSDT"]) == T0 + 7 * BAR
