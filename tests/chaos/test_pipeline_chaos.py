"""Chaos: crash every actor kind of a symbol tree mid-stream, repeatedly, through the fault API.

Afterwards storage holds every candle exactly once, no bar has two signals (stored or published), and the
pipeline runs on: bars sent after the chaos still become signals.
"""

from __future__ import annotations

from actors import GetFeedStatus
from supervision import TrioBridge
from tests.actors.actors_kit import bar_start, running_pipeline
from tests.support import eventually_async

WARMUP = 70
ROUNDS = 15
BARS_PER_ROUND = 2
KINDS = ("feed", "indicator", "signal")


async def test_crashing_each_actor_kind_mid_stream_keeps_storage_exact_and_signals_unique(
    migrated_db_url: str, redis_clean_url: str
) -> None:
    symbol = "LINKUSDT"
    async with running_pipeline(migrated_db_url, redis_clean_url, [symbol]) as rig:
        base = f"root/symbols/{symbol}"
        rig.send_bars(symbol, 0, WARMUP)
        bar = WARMUP
        for round_ in range(ROUNDS):
            # Crash now, while the previous bars are still in flight through the pipeline.
            rig.tree.faults.crash_now(f"{base}/{KINDS[round_ % len(KINDS)]}")
            rig.send_bars(symbol, bar, bar + BARS_PER_ROUND)
            bar += BARS_PER_ROUND
        await eventually_async(rig.tree.settled, timeout=20)

        # The pipeline runs on: three more bars, the last of which must become a published signal.
        rig.send_bars(symbol, bar, bar + 3)
        bar += 3
        last = int(bar_start(bar - 1).timestamp() * 1000)
        await eventually_async(lambda: any(e.bar_start_ms == last for e in rig.published.events), timeout=20)

        async def all_stored() -> bool:
            return await rig.count("SELECT count(*) FROM klines_5m WHERE symbol = $1", symbol) == bar

        await eventually_async(all_stored, timeout=20)
        distinct = await rig.count(
            "SELECT count(DISTINCT open_time) FROM klines_5m WHERE symbol = $1", symbol
        )
        assert distinct == bar
        doubled = await rig.count(
            "SELECT count(*) FROM (SELECT bar_start FROM signals WHERE symbol = $1 "
            "GROUP BY bar_start, strategy HAVING count(*) > 1) d",
            symbol,
        )
        assert doubled == 0
        published = [e.bar_start_ms for e in rig.published.events]
        assert len(published) == len(set(published))
        stored = await rig.count("SELECT count(*) FROM signals WHERE symbol = $1", symbol)
        assert len(published) <= stored

        snapshot = rig.tree.snapshot()
        symbols = next(c for c in snapshot["children"] if c["path"] == "root/symbols")
        children = {c["path"].rsplit("/", 1)[1]: c for c in symbols["children"][0]["children"]}
        for kind in KINDS:
            assert children[kind]["restarts"] == ROUNDS // len(KINDS)
            assert children[kind]["status"] == "running"

        # The feed still answers asks after all of it.
        status = await TrioBridge().ask(rig.tree.ref(f"{base}/feed"), GetFeedStatus(), timeout=5)
        assert status.symbol == symbol
