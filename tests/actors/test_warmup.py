"""REST warm-up against the real simulator's ``/v5/market/kline`` and real PostgreSQL."""

from __future__ import annotations

import datetime as dt

from actors import backfill
from exchange.bybit import BybitRestClient
from exchange.config import ExchangeConfig
from exchange.simulator import SimulatorConfig, open_simulator
from tests.actors.actors_kit import open_test_storage


async def test_backfill_stores_closed_bars_once_and_reports_failures(
    migrated_db_url: str, redis_clean_url: str
) -> None:
    symbols = ["AVAXUSDT", "OPUSDT"]
    sim_config = SimulatorConfig(seed=3, symbols=tuple(symbols), history_bars=80)
    async with (
        open_test_storage(migrated_db_url, redis_clean_url) as storage,
        open_simulator(sim_config) as sim,
        BybitRestClient(ExchangeConfig(rest_url=sim.rest_url, ws_public_url=sim.ws_public_url)) as rest,
    ):
        store = storage.market(source="rest")
        report = await backfill(rest, store, [*symbols, "ARBUSDT"], bars=50, min_interval_s=0)
        assert report.fetched == dict.fromkeys(symbols, 50)
        assert report.stored == dict.fromkeys(symbols, 50)
        assert set(report.failed) == {"ARBUSDT"}  # not listed on this venue: reported, not raised

        again = await backfill(rest, store, symbols, bars=50, min_interval_s=0)
        assert sum(again.stored.values()) <= 2  # only bars that closed in between are new

        candles = await store.last_candles("AVAXUSDT", 60)
        assert len(candles) >= 50
        newest = candles[-1]
        assert newest.end <= dt.datetime.fromtimestamp(sim.clock.now_ms() / 1000, tz=dt.UTC)
        starts = [c.start for c in candles]
        assert starts == sorted(set(starts))
