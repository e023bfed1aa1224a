"""A SignalActor picks up a new θ map version without a restart (S-05): the next bar uses it."""

from __future__ import annotations

from actors_kit import open_test_storage, pump
from test_pipeline_behaviours import BARS, Pipeline, _market

from actors import ThetaMapChanged
from strategy_core import CalibrationStats, HourOutcomes, Side, ThetaMap

ALL_DEAD = ThetaMap(dead_hours=frozenset(range(24)), version="v7")


async def test_a_new_theta_map_version_applies_from_the_next_bar(
    migrated_db_url: str, redis_clean_url: str
) -> None:
    async with open_test_storage(migrated_db_url, redis_clean_url) as storage:
        line = Pipeline(storage.market(), "SOLUSDT")
        await line.run(_market(line.symbol, 0, BARS))
        before = line.signal.stats.generated
        assert before > 0
        stats = CalibrationStats(by_side={Side.LONG: {h: HourOutcomes(wins=9, losses=1) for h in range(24)}})
        line.sig_box.tell(ThetaMapChanged(version="v7", theta_map=ALL_DEAD, calibration=stats))
        await pump(line.work, line.feed_box, line.ind_box, line.sig_box)
        assert line.signal.theta_map.version == "v7"
        assert line.signal.calibration == stats
        await line.run(_market(line.symbol, BARS, BARS + 30))
        assert line.signal.stats.generated == before  # every hour is dead under v7
        assert line.signal.stats.evaluated > before

        # the same version again changes nothing; a new one takes over
        line.sig_box.tell(ThetaMapChanged(version="v7", theta_map=ThetaMap(), calibration=None))
        await pump(line.work, line.feed_box, line.ind_box, line.sig_box)
        assert line.signal.theta_map is ALL_DEAD
        line.sig_box.tell(ThetaMapChanged(version="v8", theta_map=ThetaMap(version="v8"), calibration=None))
        await pump(line.work, line.feed_box, line.ind_box, line.sig_box)
        await line.run(_market(line.symbol, BARS + 30, BARS + 60))
        assert line.signal.stats.generated > before
