"""The engine's risk wiring (R-02..R-04): the RiskActor at ``root/risk`` decides every signal, in every mode.

Real simulator, real PostgreSQL/Redis, the real supervision tree. The simulator runs faster than the default
(a 5m bar every second) with its book step still inside AVI-5's ``max_book_age_s``, so signals come quickly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from actors import PipelineConfig
from actors.risk import (
    TradingState,
    WebhookConfig,
    WebhookDispatcher,
)
from algogrid.engine import Engine
from algogrid.settings import Settings
from exchange.simulator import SimulatorConfig
from storage import ChangeSource, Storage, TradingStateRecord
from tests.support import eventually_async

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT")

RunEngine = Callable[..., AbstractAsyncContextManager[Engine]]  # the ``run_engine`` fixture (conftest)


def _settings(**extra: Any) -> Settings:
    # 300 exchange s per real s with a 20 ms step: 6 exchange s between book updates (≤ max_book_age_s 10 s).
    simulator = SimulatorConfig(seed=3, speed=300.0, book_interval_ms=20, history_bars=120)
    extra.setdefault("pipeline", PipelineConfig(backfill_bars=100))
    return Settings(symbols=SYMBOLS, simulator=simulator, **extra)


async def _statuses(storage: Storage) -> dict[str, int]:
    rows = await storage.db.fetch("SELECT status, count(*) AS n FROM signals GROUP BY status")
    return {row["status"]: int(row["n"]) for row in rows}


async def test_every_signal_is_decided_by_the_risk_actor_and_published_when_allowed(
    run_engine: RunEngine, published: Any
) -> None:
    async with run_engine(_settings(), publisher=published) as engine:
        tree = await engine.view.supervision_tree()
        paths = [c["path"] for c in tree["children"]]
        assert paths == ["root/risk", "root/monitor", "root/symbols", "root/reconciler"]
        assert [c["kind"] for c in tree["children"][:2]] == ["risk", "monitor"]
        assert engine.alerts is None  # no webhook URLs configured

        await eventually_async(lambda: len(published.events) >= 2, timeout=45)
        assert {e.status for e in published.events} <= {"new", "queued"}
        decided = engine.metrics.registry.get_sample_value(
            "algogrid_risk_decisions_total", {"subject": "signal", "outcome": "allowed", "reason": ""}
        )
        by_outcome = {
            sample.labels["outcome"]: sample.value
            for metric in engine.metrics.registry.collect()
            if metric.name == "algogrid_risk_decisions"
            for sample in metric.samples
            if sample.name.endswith("_total") and sample.labels["subject"] == "signal"
        }
        assert sum(by_outcome.values()) >= len(published.events), (decided, by_outcome)


async def test_a_halted_trading_state_denies_every_signal_and_publishes_none(
    storage: Storage, run_engine: RunEngine, published: Any
) -> None:
    halted = TradingStateRecord(
        state=TradingState.HALTED,
        kill_switch=True,
        reason="integration test: kill switch engaged before start",
        changed_by="tests",
        source=ChangeSource.OPERATOR,
        changed_at=dt.datetime.now(dt.UTC),
    )
    await storage.kill_switch.save_trading_state(halted)
    async with run_engine(_settings(), publisher=published):

        async def denied_signals() -> int:
            return (await _statuses(storage)).get("denied", 0)

        async def denials_recorded() -> int:
            return int(await storage.db.fetchval("SELECT count(*) FROM risk_denials"))

        await eventually_async(denied_signals, timeout=45)
        denials = await eventually_async(denials_recorded, timeout=10)
    assert published.events == []
    assert set(await _statuses(storage)) == {"denied"}
    assert int(denials) >= 1


async def test_configured_webhooks_start_a_dispatcher_shared_by_the_risk_actors(
    run_engine: RunEngine,
) -> None:
    webhooks = WebhookConfig(urls=("http://127.0.0.1:9/unused",), max_attempts=1)
    async with run_engine(_settings(webhooks=webhooks, pipeline=PipelineConfig(backfill_bars=20))) as engine:
        assert isinstance(engine.alerts, WebhookDispatcher)
