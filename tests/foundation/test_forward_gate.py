"""The forward phase and the live-trading gate (S-07) on real PostgreSQL under a simulated clock.

Live mode and enabling trading are refused without a passed phase (with the reason, audited); a phase that
ran 30 days is judged on its simulated trades and, once passed, opens the gate. No order leaves in the phase.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from algogrid.commands.run import _forward_gate
from algogrid.forward_gate import (
    ForwardConfig,
    NoOrderExchange,
    OrdersDisabledError,
    check_live_start,
    ensure_forward_phase,
    evaluate_forward,
)
from algogrid.settings import load_settings
from backtest import BacktestConfig, run_backtest
from strategy_core import FillModel, ForwardThresholds
from tests.actors.actors_kit import open_test_storage
from tests.backtest.bt_series import T0, trending_walk

ONE_R = Decimal(25)
FILL = FillModel()
LENIENT = ForwardConfig(
    thresholds=ForwardThresholds(
        min_trades=10,
        min_win_rate=Decimal("0.35"),
        min_profit_factor=Decimal("1.1"),
        max_drawdown_pct=Decimal("40"),
    )
)
STRICT = ForwardConfig(thresholds=ForwardThresholds(min_trades=10, min_win_rate=Decimal("0.99")))


async def _audit_actions(storage: object) -> list[str]:
    rows = await storage.db.fetch("SELECT action FROM audit_trail ORDER BY id")  # type: ignore[attr-defined]
    return [r["action"] for r in rows]


async def _market(storage: object, days: int) -> None:
    candles = trending_walk(days * 288, seed=42)
    await storage.klines.upsert(candles)  # type: ignore[attr-defined]
    market = storage.market()  # type: ignore[attr-defined]
    for signal in run_backtest(candles, BacktestConfig()).signals:
        await market.store_signal(signal, "new", None)


async def test_live_needs_a_passed_phase_which_a_completed_phase_gives(
    migrated_db_url: str, redis_clean_url: str
) -> None:
    async with open_test_storage(migrated_db_url, redis_clean_url) as storage:
        refused = await check_live_start(storage, "start_live", "test")
        assert not refused.allowed
        assert "none has run" in refused.reason
        live = load_settings(  # live mode wants a strong signing secret and Vault (U-03, U-08)
            Path("/nonexistent.yaml"),
            mode="live",
            auth={"jwt_secret": "live-mode-signing-secret-" + "s" * 32, "cipher": {"kind": "vault"}},
        )
        assert await _forward_gate(live, storage) == refused.reason

        await _market(storage, 31)
        first = await ensure_forward_phase(storage, "paper", STRICT, T0)
        assert (
            await ensure_forward_phase(storage, "paper", STRICT, T0 + timedelta(days=1)) == first
        )  # one runs

        early = await evaluate_forward(
            storage, STRICT, FILL, ONE_R, T0 + timedelta(days=10), decide=True, by="t"
        )
        assert (early.status, early.progress) == ("running", "10/30 days")
        assert early.metrics is not None
        assert early.metrics.trades > 0
        assert not (await check_live_start(storage, "kill_switch_off", "test")).allowed

        done = await evaluate_forward(
            storage, STRICT, FILL, ONE_R, T0 + timedelta(days=31), decide=True, by="t"
        )
        assert done.status == "failed"
        assert done.verdict is not None
        assert any("win rate" in r for r in done.verdict.reasons)
        assert "failed" in (await check_live_start(storage, "start_live", "test")).reason

        await ensure_forward_phase(storage, "paper", LENIENT, T0 + timedelta(minutes=1))
        passed = await evaluate_forward(
            storage, LENIENT, FILL, ONE_R, T0 + timedelta(days=31), decide=True, by="t"
        )
        assert passed.status == "passed", passed.verdict
        assert passed.progress == "30/30 days"
        allowed = await check_live_start(storage, "start_live", "test")
        assert allowed.allowed
        assert await _forward_gate(live, storage) is None
        actions = await _audit_actions(storage)
        assert actions.count("live_trading_refused") == 4
        assert actions[-1] == "live_trading_allowed"
        assert {"forward_phase_started", "forward_phase_failed", "forward_phase_passed"} <= set(actions)


class _Exchange:
    def __init__(self) -> None:
        self.sent: list[object] = []

    async def create_order(self, request: object) -> object:
        self.sent.append(request)
        return request

    async def get_order(self, symbol: str) -> str:
        return symbol


async def test_the_forward_phase_sends_no_order() -> None:
    exchange = _Exchange()
    port = NoOrderExchange(exchange)
    with pytest.raises(OrdersDisabledError):
        await port.create_order(object())
    with pytest.raises(OrdersDisabledError):
        await port.amend_order(object())
    assert exchange.sent == []
    assert await port.get_order("BTCUSDT") == "BTCUSDT"  # reads pass through
