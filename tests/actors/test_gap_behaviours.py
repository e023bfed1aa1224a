"""A bar that cannot be recovered is marked missing, never invented, and no signal is computed over it (D-02).

The behaviours run in the trio thread over real PostgreSQL (``Pipeline`` of test_pipeline_behaviours); the
feed has no REST history source here, so the bar skipped by the stream cannot be fetched.
"""

from __future__ import annotations

from actors import SignalGenerated
from exchange.bybit import KlineUpdate
from tests.actors.actors_kit import T0_MS, bar_events, open_test_storage
from tests.actors.test_pipeline_behaviours import Pipeline

BAR_MS = 300_000
HOLE = 70


def _market(symbol: str, first: int, last: int, *, skip: int | None = None) -> list[object]:
    events: list[object] = []
    for i in range(first, last):
        events += [
            e for e in bar_events(symbol, i, u=i + 1) if not (i == skip and isinstance(e, KlineUpdate))
        ]
    return events


async def test_an_unrecoverable_bar_is_recorded_missing_and_blocks_signals_over_its_window(
    migrated_db_url: str, redis_clean_url: str
) -> None:
    async with open_test_storage(migrated_db_url, redis_clean_url) as storage:
        line = Pipeline(storage.market(), "SOLUSDT")
        await line.run(_market(line.symbol, 0, HOLE))
        before = len(line.published.events)
        assert before > 0, "the uptrend signals once warmed up"
        await line.run(_market(line.symbol, HOLE, HOLE + 10, skip=HOLE))

        assert line.feed.stats.absent == 1
        assert line.feed.stats.missing == 1
        assert line.indicator.stats.missing == 1
        assert line.signal.stats.window_holes == 9  # every bar after the hole, while it is in the window
        published = [e for e in line.published.events if isinstance(e, SignalGenerated)]
        assert len(published) == before  # no signal over the hole
        hole_start = T0_MS + HOLE * BAR_MS
        gaps = await storage.db.fetch(
            "SELECT open_time, status FROM kline_gaps WHERE symbol = $1", line.symbol
        )
        assert [(int(g["open_time"].timestamp() * 1000), g["status"]) for g in gaps] == [
            (hole_start, "missing")
        ]
        stored = await storage.db.fetchval(
            "SELECT count(*) FROM klines_5m WHERE symbol = $1 AND open_time = to_timestamp($2 / 1000.0)",
            line.symbol,
            hole_start,
        )
        assert stored == 0  # never invented
