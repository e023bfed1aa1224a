"""Symbol trees under the real supervision library, real work queue and real PostgreSQL."""

from __future__ import annotations

from actors_kit import ONE_R, bar_start, running_pipeline

from actors import SYMBOLS, GetFeedStatus
from supervision import TrioBridge
from tests.support import eventually_async

BARS = 80


async def test_tree_has_one_symbol_supervisor_per_symbol_with_three_children(
    migrated_db_url: str, redis_clean_url: str
) -> None:
    async with running_pipeline(migrated_db_url, redis_clean_url, ["BTCUSDT", "ETHUSDT"]) as rig:
        snapshot = rig.tree.snapshot()
        symbols = next(c for c in snapshot["children"] if c["path"] == SYMBOLS)
        assert [c["path"] for c in symbols["children"]] == ["root/symbols/BTCUSDT", "root/symbols/ETHUSDT"]
        btc = symbols["children"][0]
        assert [c["path"].rsplit("/", 1)[1] for c in btc["children"]] == ["signal", "indicator", "feed"]
        assert all(c["status"] == "running" for c in btc["children"])


async def test_events_routed_by_symbol_become_stored_candles_and_signals(
    migrated_db_url: str, redis_clean_url: str
) -> None:
    async with running_pipeline(migrated_db_url, redis_clean_url, ["SOLUSDT", "XRPUSDT"]) as rig:
        rig.send_bars("SOLUSDT", 0, BARS)
        rig.send_bars("XRPUSDT", 0, BARS)

        async def all_stored() -> bool:
            sol = await rig.count("SELECT count(*) FROM klines_5m WHERE symbol = $1", "SOLUSDT")
            xrp = await rig.count("SELECT count(*) FROM klines_5m WHERE symbol = $1", "XRPUSDT")
            return sol == BARS and xrp == BARS

        await eventually_async(all_stored, timeout=20)
        last = int(bar_start(BARS - 1).timestamp() * 1000)
        await eventually_async(
            lambda: (
                {e.signal.symbol for e in rig.published.events if e.bar_start_ms == last}
                == {"SOLUSDT", "XRPUSDT"}
            ),
            timeout=20,
        )
        keys = [(e.signal.symbol, e.bar_start_ms) for e in rig.published.events]
        assert len(keys) == len(set(keys))
        stored = await rig.count("SELECT count(*) FROM signals WHERE symbol IN ('SOLUSDT', 'XRPUSDT')")
        assert stored == len(keys)
        assert rig.router.stats.unrouted == 0

        bridge = TrioBridge()
        status = await bridge.ask(rig.tree.ref("root/symbols/SOLUSDT/feed"), GetFeedStatus(), timeout=5)
        assert status.symbol == "SOLUSDT"
        assert status.forwarded == BARS
        assert status.last_event_at is not None


async def test_controller_adds_and_removes_symbol_trees(migrated_db_url: str, redis_clean_url: str) -> None:
    from actors import PipelineConfig, SymbolsController, TradingInputs

    async with running_pipeline(migrated_db_url, redis_clean_url, ["BNBUSDT"]) as rig:
        deps = rig.deps
        inputs = TradingInputs(risk_per_trade_usd=ONE_R)
        controller = SymbolsController(rig.tree, TrioBridge(), PipelineConfig(), inputs, deps, rig.router)
        await controller.apply(["DOGEUSDT"])
        assert rig.router.symbols == frozenset({"DOGEUSDT"})
        snapshot = rig.tree.snapshot()
        symbols = next(c for c in snapshot["children"] if c["path"] == SYMBOLS)
        assert [c["path"] for c in symbols["children"]] == ["root/symbols/DOGEUSDT"]
        rig.send_bars("BNBUSDT", 0, 3)
        assert rig.router.stats.unrouted == 9
        rig.send_bars("DOGEUSDT", 0, 3)

        async def stored() -> bool:
            return await rig.count("SELECT count(*) FROM klines_5m WHERE symbol = 'DOGEUSDT'") == 3

        await eventually_async(stored, timeout=10)
