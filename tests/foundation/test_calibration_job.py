"""``run_calibration`` stores a versioned θ map from stored klines, refuses a run that is not due, and the
engine's watcher tells each SignalActor the version in force (S-05)."""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import trio

from actors import ThetaMapChanged
from algogrid.calibration_job import (
    CalibrationNotDueError,
    CalibrationSettings,
    run_calibration,
    watch_theta_maps,
)
from strategy_core import AVI5Config, CalibrationConfig, ConfirmedCandle
from tests.actors.actors_kit import open_test_storage

SMALL = CalibrationConfig(train_days=20, oos_days=5, short_train_days=10, min_train_trades=3)
START = date(2024, 1, 1)


def _walk(days: int) -> list[ConfirmedCandle]:
    rng = random.Random(4)
    out, price = [], 100.0
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    for i in range(days * 288):
        c = price * math.exp(rng.gauss(0, 0.002))
        start = t0 + timedelta(minutes=5 * i)
        o, close = Decimal(f"{price:.4f}"), Decimal(f"{c:.4f}")
        out.append(
            ConfirmedCandle(
                symbol="BTCUSDT", start=start, end=start + timedelta(minutes=5), open=o,
                high=max(o, close) + Decimal("0.02"), low=min(o, close) - Decimal("0.02"), close=close,
                volume=Decimal(100), turnover=Decimal(100) * close,
            )
        )  # fmt: skip
        price = c
    return out


async def test_a_run_is_stored_as_the_version_in_force_and_reaches_the_signal_actors(
    migrated_db_url: str, redis_clean_url: str
) -> None:
    async with open_test_storage(migrated_db_url, redis_clean_url) as storage:
        await storage.klines.upsert(_walk(26))
        assert await storage.calibration.load_active(Decimal("0.35")) is None
        summary = await run_calibration(
            storage, ["BTCUSDT"], start=START, end=START + timedelta(days=24), force=False, by="test",
            strategy=AVI5Config(), config=SMALL, slippage_base_pct=Decimal("0.05"),
        )  # fmt: skip
        assert summary["symbols"]["BTCUSDT"]["folds"] == 1
        active = await storage.calibration.load_active(Decimal("0.35"))
        assert active is not None
        assert (active.run_id, active.triggered_by) == (summary["run_id"], "test")
        theta_map = active.theta_maps["BTCUSDT"]
        assert theta_map.version == f"v{active.version}"
        assert len(theta_map.by_hour) + len(theta_map.dead_hours) == 24
        with pytest.raises(CalibrationNotDueError):
            await run_calibration(
                storage, ["BTCUSDT"], start=START, end=START + timedelta(days=24), force=False, by="test",
                strategy=AVI5Config(), config=SMALL, slippage_base_pct=Decimal("0.05"),
            )  # fmt: skip
        with pytest.raises(ValueError, match="at least 25 days"):
            await run_calibration(
                storage, ["BTCUSDT"], start=START, end=START + timedelta(days=10), force=True, by="test",
                strategy=AVI5Config(), config=SMALL, slippage_base_pct=Decimal("0.05"),
            )  # fmt: skip

        told: list[tuple[str, object]] = []
        both = trio.Event()

        def tell(symbol: str, message: object) -> None:
            told.append((symbol, message))
            if len(told) == 2:
                both.set()

        with trio.move_on_after(5):
            settings = CalibrationSettings(schedule=False, poll_s=3600)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(
                    watch_theta_maps, storage, tell, ["BTCUSDT", "ETHUSDT"],
                    settings, Decimal("0.35"),
                )  # fmt: skip
                await both.wait()
                nursery.cancel_scope.cancel()
        assert [s for s, _ in told] == ["BTCUSDT", "ETHUSDT"]
        btc, eth = (m for _, m in told)
        assert isinstance(btc, ThetaMapChanged)
        assert btc.theta_map == theta_map
        assert isinstance(eth, ThetaMapChanged)
        assert eth.theta_map.version == btc.version  # no map for it: θ_global under the same version
