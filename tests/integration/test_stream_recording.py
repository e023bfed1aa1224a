"""Every public stream is stored exactly once across reconnects (P-06, D-02).

Real PostgreSQL/Redis, the real simulator over loopback sockets and the real engine at speed 1800 with a
one-hour funding period (a settlement every 2 real seconds). The venue sends duplicated messages and drops the
public socket twice; afterwards each trade, ticker row and funding settlement is stored once, every row the
session passed on is stored, and a second recorder writing the same rows (a restarted process) adds none.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from decimal import Decimal

from actors import PipelineConfig, StreamRecorder, StreamsConfig
from algogrid.engine import Engine
from algogrid.settings import Settings
from exchange.bybit import PublicTrade, TickerUpdate
from exchange.simulator import SimulatorConfig
from storage import Storage
from tests.support import eventually_async

SYMBOLS = ("BTCUSDT", "ETHUSDT")

RunEngine = Callable[..., AbstractAsyncContextManager[Engine]]


def _settings() -> Settings:
    return Settings(
        symbols=SYMBOLS,
        simulator=SimulatorConfig(
            seed=5, speed=1800.0, book_interval_ms=20, history_bars=60, funding_interval_hours=1
        ),
        pipeline=PipelineConfig(backfill_bars=50, streams=StreamsConfig(flush_interval_s=0.1)),
    )


async def _count(storage: Storage, sql: str) -> int:
    return int(await storage.db.fetchval(sql))


class _Recording:
    """A sink keeping what the session published (trades and tickers), next to the engine's recorder."""

    def __init__(self) -> None:
        self.trade_ids: list[tuple[str, str]] = []

    def publish(self, event: object) -> None:
        if type(event) is PublicTrade:
            self.trade_ids.append((event.symbol, event.trade_id))


async def test_trades_tickers_and_funding_are_stored_once_across_reconnects(
    storage: Storage, run_engine: RunEngine
) -> None:
    async with run_engine(_settings()) as engine:
        sim, recorder, session = engine.simulator, engine.recorder, engine.session
        assert sim is not None
        assert recorder is not None
        assert session is not None
        seen = _Recording()
        session.sink = _Tee(session.sink, seen)
        sim.faults.update({"duplicate": 200})
        for round_ in range(2):
            drops = session.stats.reconnects
            sim.drop_connections("public")
            await eventually_async(
                lambda d=drops: session.stats.reconnects > d and session.subscribed, timeout=20
            )
            del round_

        async def two_settlements_each() -> bool:
            rows = await _count(storage, "SELECT count(*) FROM funding_settlements")
            return rows >= 2 * len(SYMBOLS)

        await eventually_async(two_settlements_each, timeout=90)  # a bound, not a speed check (traced runs)
    # the engine has stopped: the recorder flushed its last rows
    stats = recorder.stats
    trades = await _count(storage, "SELECT count(*) FROM public_trades")
    assert trades == stats.stored["trades"] > 0
    assert await _count(storage, "SELECT count(DISTINCT (symbol, trade_id)) FROM public_trades") == trades
    assert stats.dropped == {"trades": 0, "tickers": 0, "funding": 0}
    assert stats.failed == {"trades": 0, "tickers": 0, "funding": 0}
    # every print the session passed on after the tee was installed is stored
    stored_ids = {
        (r["symbol"], r["trade_id"])
        for r in await storage.db.fetch("SELECT symbol, trade_id FROM public_trades")
    }
    assert set(seen.trade_ids) <= stored_ids
    assert len(seen.trade_ids) == len(set(seen.trade_ids))  # the session dropped the duplicated messages
    tickers = await _count(storage, "SELECT count(*) FROM ticker_log")
    assert tickers == stats.stored["tickers"] > 0
    assert await _count(storage, "SELECT count(*) FROM ticker_log WHERE mark_price IS NULL") == 0
    fundings = await storage.db.fetch("SELECT symbol, funding_time, funding_rate FROM funding_settlements")
    assert len(fundings) == stats.stored["funding"]
    for row in fundings:
        assert row["funding_time"].timestamp() % 3600 == 0  # settlements on the funding grid
        assert abs(row["funding_rate"]) <= Decimal("0.00375")

    # A restarted process writing the same rows again stores none of them.
    again = StreamRecorder(storage.streams, StreamsConfig())
    rows = await storage.db.fetch(
        "SELECT symbol, trade_id, traded_at, side, price, size, block_trade FROM public_trades LIMIT 50"
    )
    for r in rows:
        ms = int(r["traded_at"].timestamp() * 1000)
        again.publish(
            PublicTrade(r["symbol"], r["trade_id"], r["side"], r["price"], r["size"], ms, False, ms)
        )
    ticker = await storage.db.fetchrow("SELECT * FROM ticker_log LIMIT 1")
    ts = int(ticker["ts"].timestamp() * 1000)
    again.publish(
        TickerUpdate(
            ticker["symbol"],
            ticker["last_price"],
            ticker["mark_price"],
            ticker["index_price"],
            None,
            None,
            None,
            None,
            ticker["funding_rate"],
            int(ticker["next_funding_time"].timestamp() * 1000),
            ts,
            True,
        )
    )
    await again.flush()
    assert again.stats.stored == {"trades": 0, "tickers": 0, "funding": 0}
    assert again.stats.duplicates["trades"] == len(rows)
    assert await _count(storage, "SELECT count(*) FROM public_trades") == trades


class _Tee:
    def __init__(self, *sinks: object) -> None:
        self._sinks = sinks

    def publish(self, event: object) -> None:
        for sink in self._sinks:
            sink.publish(event)  # type: ignore[attr-defined]
