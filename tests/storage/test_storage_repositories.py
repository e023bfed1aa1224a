"""Kline and signal repositories: explicit SQL, exact Decimal round trip, idempotence (T-01, T-04)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from storage import IntegrityViolationError, SignalFilters, Storage, StoredKline

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def candle(i: int, symbol: str = "BTCUSDT", close: str = "65000.5") -> StoredKline:
    return StoredKline(
        symbol, T0 + timedelta(minutes=5 * i), Decimal("65000.1"), Decimal("65010.123456789"),
        Decimal("64990.000000001"), Decimal(close), Decimal("12.3456789"), Decimal("802469.12345678"),
    )


async def test_kline_upsert_round_trips_decimals_exactly(storage: Storage) -> None:
    await storage.klines.upsert([candle(0)])
    [stored] = await storage.klines.last_n("BTCUSDT", 1)
    assert stored == StoredKline(
        "BTCUSDT", T0, Decimal("65000.1"), Decimal("65010.123456789"), Decimal("64990.000000001"),
        Decimal("65000.5"), Decimal("12.3456789"), Decimal("802469.12345678"),
    )


async def test_kline_upsert_is_idempotent_and_the_newest_copy_wins(storage: Storage) -> None:
    await storage.klines.upsert([candle(i, "ETHUSDT") for i in range(3)])
    await storage.klines.upsert([candle(i, "ETHUSDT") for i in range(3)])
    await storage.klines.upsert([candle(2, "ETHUSDT", close="65001")])
    assert await storage.klines.count("ETHUSDT") == 3
    assert (await storage.klines.last_n("ETHUSDT", 1))[0].close == Decimal("65001")


async def test_last_n_returns_the_newest_n_oldest_first(storage: Storage) -> None:
    await storage.klines.upsert([candle(i, "SOLUSDT") for i in (4, 0, 2, 1, 3)])
    starts = [k.start for k in await storage.klines.last_n("SOLUSDT", 3)]
    assert starts == [T0 + timedelta(minutes=5 * i) for i in (2, 3, 4)]
    assert await storage.klines.last_n("SOLUSDT", 0) == []


async def test_kline_violating_d01_is_refused_by_the_database(storage: Storage) -> None:
    bad = replace(candle(0, "XRPUSDT"), close=Decimal("70000"))  # close above high
    with pytest.raises(IntegrityViolationError) as info:
        await storage.klines.upsert([bad])
    assert info.value.constraint == "klines_5m_ohlc_check"


@dataclass(frozen=True)
class Sig:
    id: uuid.UUID
    symbol: str = "BTCUSDT"
    side: str = "long"
    entry: Decimal = Decimal("100.5")
    tp1: Decimal = Decimal("101.25")
    tp2: Decimal = Decimal("102")
    tp3: Decimal = Decimal("103.000000001")
    sl: Decimal = Decimal("99.75")
    qty: Decimal = Decimal("33.333333")
    risk_usd: Decimal = Decimal("25")
    risk_r: Decimal = Decimal("1")
    p_win: Decimal = Decimal("0.61")
    strategy: str = "avi5"
    strategy_version: str = "1.0.0"
    status: str = "new"
    bar_start: datetime = T0
    created_at: datetime = T0 + timedelta(minutes=5)
    queued_until: datetime | None = None
    error_code: str | None = None
    error_message: str | None = None
    atr_above_p80: bool | None = None
    book_depth_usd: Decimal | None = None


async def test_signal_insert_get_round_trip_and_second_insert_is_a_no_op(storage: Storage) -> None:
    sig = Sig(uuid.uuid4())
    assert await storage.signals.insert(sig) is True
    assert await storage.signals.insert(replace(sig, p_win=Decimal("0.99"))) is False
    stored = await storage.signals.get(sig.id)
    assert stored is not None
    assert stored.p_win == Decimal("0.61")
    assert (stored.tp3, stored.qty, stored.created_at) == (sig.tp3, sig.qty, sig.created_at)
    assert await storage.signals.get(uuid.uuid4()) is None


async def test_signal_market_context_round_trips_exactly_single_and_batched(storage: Storage) -> None:
    depth = Decimal("987654.32100000001")
    single = Sig(uuid.uuid4(), atr_above_p80=True, book_depth_usd=depth)
    assert await storage.signals.insert(single) is True
    batch = [
        Sig(uuid.uuid4(), atr_above_p80=False, book_depth_usd=Decimal("1000000.000000000001")),
        Sig(uuid.uuid4(), atr_above_p80=None, book_depth_usd=None),
        Sig(uuid.uuid4(), atr_above_p80=True, book_depth_usd=Decimal(0)),
    ]
    assert await storage.signals.insert_many(batch) == [True, True, True]
    for sig in [single, *batch]:
        stored = await storage.signals.get(sig.id)
        assert stored is not None
        assert (stored.atr_above_p80, stored.book_depth_usd) == (sig.atr_above_p80, sig.book_depth_usd)
        assert str(stored.book_depth_usd) == str(sig.book_depth_usd)  # same digits, not just equal value
    with pytest.raises(IntegrityViolationError):
        await storage.signals.insert(Sig(uuid.uuid4(), book_depth_usd=Decimal(-1)))


async def test_signal_list_filters_and_pages_newest_first(storage: Storage) -> None:
    base = T0 + timedelta(days=1)
    ids = []
    for i, (symbol, side, p) in enumerate(
        [("ADAUSDT", "long", "0.5"), ("ADAUSDT", "short", "0.7"), ("LTCUSDT", "long", "0.8")]
    ):
        levels = {} if side == "long" else {
            "tp1": Decimal("99"), "tp2": Decimal("98"), "tp3": Decimal("97"), "sl": Decimal("101")
        }
        sig = Sig(uuid.uuid4(), symbol=symbol, side=side, p_win=Decimal(p),
                  created_at=base + timedelta(minutes=i), **levels)
        ids.append(sig.id)
        await storage.signals.insert(sig)
    since = SignalFilters(since=base)
    assert [s.id for s in await storage.signals.list(since)] == ids[::-1]
    ada = SignalFilters(symbol="ADAUSDT", since=base)
    assert [s.id for s in await storage.signals.list(ada)] == ids[1::-1]
    assert [s.id for s in await storage.signals.list(SignalFilters(side="short", since=base))] == [ids[1]]
    assert [s.id for s in await storage.signals.list(
        SignalFilters(min_probability=Decimal("0.7"), since=base))] == [ids[2], ids[1]]
    assert [s.id for s in await storage.signals.list(since, limit=1, offset=1)] == [ids[1]]
    with pytest.raises(ValueError, match="limit"):
        await storage.signals.list(since, limit=0)


async def test_signal_status_change_respects_the_queued_check(storage: Storage) -> None:
    sig = Sig(uuid.uuid4(), symbol="OPUSDT")
    await storage.signals.insert(sig)
    with pytest.raises(IntegrityViolationError) as info:
        await storage.signals.set_status(sig.id, "queued")
    assert info.value.constraint == "signals_queued_check"
    until = T0 + timedelta(minutes=15)
    assert await storage.signals.set_status(sig.id, "queued", queued_until=until) is True
    stored = await storage.signals.get(sig.id)
    assert stored is not None
    assert (stored.status, stored.queued_until) == ("queued", until)
    assert await storage.signals.set_status(uuid.uuid4(), "expired") is False


async def test_signal_with_inconsistent_levels_is_refused(storage: Storage) -> None:
    with pytest.raises(IntegrityViolationError) as info:
        await storage.signals.insert(Sig(uuid.uuid4(), sl=Decimal("100.6")))  # long with sl above entry
    assert info.value.constraint == "signals_levels_check"


async def test_strategy_core_signal_and_candle_are_accepted_directly(storage: Storage) -> None:
    models = pytest.importorskip("strategy_core.models")
    signal_mod = pytest.importorskip("strategy_core.signal")
    start = datetime(2026, 2, 1, 0, 0, tzinfo=UTC)
    c = models.ConfirmedCandle(
        symbol="LINKUSDT", start=start, end=start + timedelta(minutes=5), open=Decimal("20.1"),
        high=Decimal("20.5"), low=Decimal("20.0"), close=Decimal("20.25"), volume=Decimal("1000"),
        turnover=Decimal("20200"),
    )
    await storage.klines.upsert([c])
    assert (await storage.klines.last_n("LINKUSDT", 1))[0].close == Decimal("20.25")
    fields = {k: v for k, v in Sig(uuid.uuid4(), symbol="LINKUSDT").__dict__.items()
              if k not in {"side", "status"}}
    sig = signal_mod.Signal(side=models.Side.LONG, **fields)
    assert await storage.signals.insert(sig) is True
    stored = await storage.signals.get(sig.id)
    assert stored is not None
    assert (stored.side, stored.status) == ("long", "new")
