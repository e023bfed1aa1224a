"""The RiskActor under the real supervision tree: fail closed through crashes, failed starts and delays.

Every test runs ``root/risk`` on real PostgreSQL/Redis with the real trio work queue and a manual clock that
drives restart backoff and the actor's timers. Whatever fault is injected, a caller receives a denial,
``AskTimeout`` or ``ActorUnavailable`` — never an approval.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import orjson
import pytest

from actors import CheckSignal, SignalAllowed, SignalDenied
from actors.risk import (
    RISK_UNAVAILABLE,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    CheckOrder,
    CriticalDiscrepancy,
    OrderAllowed,
    OrderDenied,
    TradingState,
    TradingStateChanged,
    WebhookConfig,
    ask_order_verdict,
    verify_signature,
)
from storage import ChangeSource, KillSwitchRepository, TradingStateRecord
from strategy_core.config import RiskLimits
from strategy_core.models import Side
from supervision import ActorUnavailable, AskTimeout, InjectedFault, Intensity, Status
from tests.risk.risk_kit import T0, Collector, make_signal, running_risk
from tests.risk.risk_receiver import run_receiver
from tests.support import eventually_async


def _order(order_id: str = "o1", symbol: str = "ETHUSDT") -> CheckOrder:
    return CheckOrder(
        order_id=order_id, symbol=symbol, side=Side.LONG, risk_usd=Decimal(25), risk_r=Decimal(1)
    )


async def _insert_open_position(storage: object, symbol: str, side: str, risk_r: int) -> str:
    db = storage.db  # type: ignore[attr-defined]
    return str(
        await db.fetchval(
            "INSERT INTO positions (symbol, side, requested_size_base, executed_size_base, avg_entry_price, "
            "risk_usd, risk_r) VALUES ($1, $2, 25, 25, 100, $3, $4) RETURNING id",
            symbol,
            side,
            Decimal(25 * risk_r),
            Decimal(risk_r),
        )
    )


async def test_an_ask_that_crashes_the_actor_is_a_denial_and_the_restart_rebuilds(
    risk_db_url: str, redis_clean_url: str
) -> None:
    async with running_risk(risk_db_url, redis_clean_url) as rig:
        await rig.snapshot()
        assert isinstance(await ask_order_verdict(rig.bridge, rig.ref, _order("o1")), OrderAllowed)
        rig.tree.faults.crash_on_next("root/risk", CheckOrder)
        crashed = await ask_order_verdict(rig.bridge, rig.ref, _order("o2"))
        assert isinstance(crashed, OrderDenied)
        assert crashed.reason_code == RISK_UNAVAILABLE
        rig.tree.faults.crash_on_next("root/risk", CheckOrder)
        with pytest.raises(InjectedFault):
            await rig.ask(_order("o3"))
        await rig.restarted(3)
        await rig.snapshot()
        assert isinstance(await rig.ask(_order("o4")), OrderAllowed)


async def test_while_starts_fail_asks_time_out_and_a_signal_waits_for_the_rebuilt_state(
    risk_db_url: str, redis_clean_url: str
) -> None:
    async with running_risk(risk_db_url, redis_clean_url) as rig:
        await rig.snapshot()
        rig.tree.faults.fail_on_start("root/risk", 2)
        rig.tree.faults.crash_now("root/risk")
        # first restart is immediate and fails; the next waits 1 s of manual time
        await eventually_async(lambda: rig.ref.status is Status.RESTARTING and rig.clock.pending_timers() > 0)
        verdict = await ask_order_verdict(rig.bridge, rig.ref, _order("o1"), timeout=0.2)
        assert isinstance(verdict, OrderDenied)
        assert verdict.reason_code == RISK_UNAVAILABLE
        with pytest.raises(AskTimeout):
            await rig.ask(_order("o2"), timeout=0.2)
        replies = Collector()
        rig.ref.tell(CheckSignal(signal=make_signal("SOLUSDT"), reply_to=replies))  # held, not lost
        await rig.restarted(4)
        (verdict_for_held,) = await eventually_async(lambda: replies.messages)
        # the held signal reached the new incarnation: allowed only once its state was rebuilt
        assert isinstance(verdict_for_held, SignalAllowed | SignalDenied)
        if isinstance(verdict_for_held, SignalDenied):
            assert verdict_for_held.reason == "rebuilding"
        await rig.snapshot()
        assert isinstance(await rig.ask(_order("o3")), OrderAllowed)


async def test_a_delayed_actor_times_out_and_the_order_is_denied(
    risk_db_url: str, redis_clean_url: str
) -> None:
    async with running_risk(risk_db_url, redis_clean_url) as rig:
        await rig.snapshot()
        rig.tree.faults.delay_next("root/risk", 30.0)
        rig.ref.tell(CheckSignal(signal=make_signal("XRPUSDT"), reply_to=Collector()))  # the delayed message
        verdict = await ask_order_verdict(rig.bridge, rig.ref, _order("o1"), timeout=0.2)
        assert isinstance(verdict, OrderDenied)
        assert verdict.reason_code == RISK_UNAVAILABLE
        rig.tree.faults.clear("root/risk")
        assert isinstance(await rig.ask(_order("o2")), OrderAllowed)


async def test_past_its_restart_intensity_the_actor_is_unavailable_not_permissive(
    risk_db_url: str, redis_clean_url: str
) -> None:
    async with running_risk(
        risk_db_url, redis_clean_url, intensity=Intensity(max_restarts=1, within_seconds=60.0)
    ) as rig:
        await rig.snapshot()
        rig.tree.faults.fail_on_start("root/risk", 5)
        rig.tree.faults.crash_now("root/risk")

        def failed() -> bool:
            rig.clock.advance(1.0)
            return rig.tree.failure is not None or rig.ref.status is Status.FAILED

        await eventually_async(failed)
        with pytest.raises(ActorUnavailable):
            rig.ref.tell(_order("o1"))
        verdict = await ask_order_verdict(rig.bridge, rig.ref, _order("o2"))
        assert isinstance(verdict, OrderDenied)
        assert verdict.reason_code == RISK_UNAVAILABLE


async def test_the_state_after_a_restart_equals_the_state_before(
    risk_db_url: str, redis_clean_url: str
) -> None:
    limits = RiskLimits(max_concurrent_positions=5)
    async with running_risk(risk_db_url, redis_clean_url, limits=limits) as rig:
        await _insert_open_position(rig.storage, "BTCUSDT", "long", 1)
        await _insert_open_position(rig.storage, "ETHUSDT", "short", 2)
        signal = make_signal("SOLUSDT", at=T0 - dt.timedelta(seconds=60))
        await rig.storage.signals.insert(signal)
        await rig.storage.kill_switch.save_trading_state(
            TradingStateRecord(
                state=TradingState.REDUCING,
                kill_switch=True,
                reason="drill",
                changed_by="ops",
                source=ChangeSource.OPERATOR,
                changed_at=T0,
            )
        )
        rig.tree.faults.crash_now("root/risk")
        await rig.restarted(2)
        before = await rig.snapshot()
        assert before.record is not None
        assert before.record.state is TradingState.REDUCING
        assert {p.symbol for p in before.positions} == {"BTCUSDT", "ETHUSDT", "SOLUSDT"}
        assert [(s, side) for s, side, _ in before.churn] == [("SOLUSDT", "long")]
        rig.tree.faults.crash_now("root/risk")
        await rig.restarted(3)
        after = await rig.snapshot()
        assert after == before


async def test_a_kill_switch_set_by_another_process_is_noticed_by_polling(
    risk_db_url: str, redis_clean_url: str
) -> None:
    async with running_risk(risk_db_url, redis_clean_url, state_poll_s=1.0) as rig:
        await rig.snapshot()
        assert isinstance(await rig.ask(_order("o1")), OrderAllowed)
        other_process = KillSwitchRepository(rig.storage.db, rig.storage.redis)
        await other_process.save_trading_state(
            TradingStateRecord(
                state=TradingState.HALTED,
                kill_switch=True,
                reason="operator drill from the CLI",
                changed_by="cli:alice",
                source=ChangeSource.OPERATOR,
                changed_at=T0 + dt.timedelta(seconds=1),
            )
        )

        async def denied() -> bool:
            rig.clock.advance(1.0)
            verdict = await rig.ask(_order("o2"))
            return isinstance(verdict, OrderDenied) and verdict.reason_code == "halted"

        await eventually_async(denied)
        assert rig.registry.get_sample_value("algogrid_risk_kill_switch_engaged") == 1


async def test_denials_are_written_in_one_batch_after_the_flush_delay(
    risk_db_url: str, redis_clean_url: str
) -> None:
    async with running_risk(
        risk_db_url, redis_clean_url, limits=RiskLimits(max_concurrent_positions=1)
    ) as rig:
        await _insert_open_position(rig.storage, "BTCUSDT", "long", 1)
        rig.tree.faults.crash_now("root/risk")
        await rig.restarted(2)
        await rig.snapshot()
        for i in range(3):
            denied = await rig.ask(_order(f"d{i}"))
            assert isinstance(denied, OrderDenied)
            assert denied.reason_code == "max_concurrent_positions"
        count = "SELECT count(*) FROM risk_denials WHERE details->>'subject_id' LIKE 'd%'"
        assert await rig.storage.db.fetchval(count) == 0  # buffered until the flush
        rig.clock.advance(0.05)
        await eventually_async(lambda: _count_is(rig, count, 3))


async def _count_is(rig: object, sql: str, expected: int) -> bool:
    return bool(await rig.storage.db.fetchval(sql) == expected)  # type: ignore[attr-defined]


async def test_an_engagement_reaches_a_real_webhook_receiver_signed(
    risk_db_url: str, redis_clean_url: str
) -> None:
    async with run_receiver([200]) as receiver:
        config = WebhookConfig(urls=(receiver.url,), secret="hook-secret", backoff_jitter=0.0)
        async with running_risk(risk_db_url, redis_clean_url, webhooks=config) as rig:
            await rig.snapshot()
            changed = await rig.ask(
                CriticalDiscrepancy(symbol="BTCUSDT", kind="position_mismatch", details="1 vs 2", at=T0)
            )
            assert isinstance(changed, TradingStateChanged)
            (request,) = await eventually_async(lambda: receiver.received)
            delivered = "SELECT status FROM webhook_deliveries WHERE event = 'kill_switch_engaged'"
            await eventually_async(lambda: _value_is(rig, delivered, "delivered"))
    headers = request.headers
    assert verify_signature(
        "hook-secret", headers[TIMESTAMP_HEADER.lower()], request.body, headers[SIGNATURE_HEADER.lower()]
    )
    body = orjson.loads(request.body)
    assert (body["event"], body["severity"], body["trading_state"], body["source"]) == (
        "kill_switch_engaged",
        "critical",
        "HALTED",
        "reconciliation",
    )


async def _value_is(rig: object, sql: str, expected: object) -> bool:
    return bool(await rig.storage.db.fetchval(sql) == expected)  # type: ignore[attr-defined]
