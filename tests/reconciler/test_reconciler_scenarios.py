"""Issue 13's scenarios on the simulator over real sockets, real PostgreSQL and Redis (C-01..C-04, P-03).

The system is the real tree (``recon_kit.running_system``): RiskActor, PositionActor, ReconcilerActor. A
"restart" stops the tree and starts a new one on the same simulator (the exchange keeps its state); "another
client" is a second REST client on the same account.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from exchange.bybit import OrderRequest
from exchange.simulator import Simulator
from strategy_core.execution import OrderPurpose, order_link_id
from tests.position.position_kit import API_KEY, SYMBOL, best_ask
from tests.reconciler.recon_kit import FAST, ReconRig, market, other_client, running_system
from tests.support import eventually_async


async def _open_position(rig: ReconRig, sim: Simulator, *, wide: bool = False) -> str:
    """Click a marketable signal; return the position id once it is open and protected.

    ``wide``: the stop and targets 20 % and more away, so that days of simulated market touch none of them.
    """
    ask, _ = best_ask(sim)
    distance = (ask / 5).quantize(Decimal(1)) if wide else Decimal(500)
    signal_id = await rig.signal(entry=ask + 50, sl_distance=distance)
    outcome = await rig.place(signal_id)
    assert outcome.order_status == "filled", outcome
    assert outcome.position_id is not None

    async def protected() -> bool:
        rows = await rig.storage.db.fetch(
            "SELECT purpose, status FROM orders WHERE position_id = $1::uuid", uuid.UUID(outcome.position_id)
        )
        return (
            sum(
                1
                for r in rows
                if r["purpose"] in {"sl", "tp"} and r["status"] in {"untriggered", "submitted"}
            )
            >= 2
        )

    await eventually_async(protected, timeout=10)
    return outcome.position_id


async def _kinds(rig: ReconRig, severity: str) -> list[str]:
    rows = await rig.storage.db.fetch("SELECT kind FROM reconciliation_log WHERE severity = $1", severity)
    return [r["kind"] for r in rows]


async def test_the_start_up_pass_releases_the_hold_and_a_flat_account_shows_no_drift(
    recon_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    async with running_system(recon_db_url, redis_clean_url, sim) as rig:
        assert rig.first_pass is not None
        await eventually_async(lambda: rig.first_pass.first is not None, timeout=10)  # type: ignore[union-attr]
        first = rig.first_pass.first
        assert first is not None
        assert first.clean
        assert first.critical == 0

        async def released() -> bool:
            return not (await rig.risk()).reconciliation_hold

        await eventually_async(released, timeout=5)
        status = await rig.status()
        assert not status.hold
        assert status.open_findings == ()
        stored = await rig.storage.reconciliation.recent_passes()
        assert stored
        assert stored[0].fence >= 1
        assert stored[0].holder == status.owner


async def test_a_warm_restart_of_a_position_opened_ten_days_ago_shows_zero_drift(
    recon_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    async with running_system(recon_db_url, redis_clean_url, sim) as rig:
        position_id = await _open_position(rig, sim, wide=True)
        await rig.next_pass()
    sim.clock.advance(10 * 86_400_000)  # ten days of exchange time while the system is down
    async with running_system(recon_db_url, redis_clean_url, sim) as rig:
        await rig.next_pass()
        status = await rig.next_pass()
        latest = status.passes[0]
        assert (latest.info, latest.warning, latest.critical) == (0, 0, 0), status.open_findings
        assert not status.hold
        assert await _kinds(rig, "critical") == []
        views = await rig.positions()
        assert [v.id for v in views if v.status.value == "open"] == [position_id]


async def test_a_position_closed_by_hand_while_down_is_adopted_with_the_exchanges_pnl(
    recon_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    async with running_system(recon_db_url, redis_clean_url, sim) as rig:
        position_id = await _open_position(rig, sim)
        size = (await rig.positions())[0].executed_size
    async with other_client(sim) as person:
        await market(person, "Sell", size, "by-hand-1", reduce_only=True)
        closed = await person.get_closed_pnl(SYMBOL, limit=50)
    by_hand = [r for r in closed if r.order_type == "Market"]
    assert by_hand, closed
    async with running_system(recon_db_url, redis_clean_url, sim) as rig:

        async def adopted() -> object:
            return await rig.storage.db.fetchrow(
                "SELECT status, close_reason, pnl_usd FROM positions "
                "WHERE id = $1::uuid AND status = 'closed'",
                uuid.UUID(position_id),
            )

        row = await eventually_async(adopted, timeout=15)
        assert row["close_reason"] == "reconciliation"
        assert row["pnl_usd"] == sum((r.closed_pnl for r in by_hand), Decimal(0))
        assert "exchange_closed" in await _kinds(rig, "warning")
        assert await _kinds(rig, "critical") == []
        assert (await rig.risk()).record.kill_switch is False  # type: ignore[union-attr]
        logged = await rig.storage.db.fetchval(
            "SELECT repair FROM reconciliation_log WHERE kind = 'exchange_closed' AND position_id = $1::uuid",
            uuid.UUID(position_id),
        )
        assert logged == "adopt_close"


async def test_a_take_profit_filled_while_down_is_backfilled_without_a_critical_finding(
    recon_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    async with running_system(recon_db_url, redis_clean_url, sim) as rig:
        position_id = await _open_position(rig, sim)
        tp1 = (await rig.positions())[0].tp1
    assert tp1 is not None
    sim.set_price(SYMBOL, tp1 + 200)  # TP1 fills on the exchange while the system is down
    async with other_client(sim) as person:
        exchange_size = (await person.get_positions(SYMBOL))[0].size
    async with running_system(recon_db_url, redis_clean_url, sim) as rig:

        async def stored() -> bool:
            fills = await rig.storage.db.fetchval(
                "SELECT count(*) FROM executions e JOIN orders o ON o.client_order_id = e.order_link_id "
                "WHERE e.position_id = $1::uuid AND o.purpose = 'tp'",
                uuid.UUID(position_id),
            )
            return bool(fills)

        await eventually_async(stored, timeout=15)
        status = await rig.next_pass()
        assert status.passes[0].critical == 0
        assert await _kinds(rig, "critical") == []
        ledger = await rig.storage.db.fetchval(
            "SELECT sum(CASE WHEN side = 'Buy' THEN qty ELSE -qty END) FROM executions "
            "WHERE position_id = $1::uuid AND exec_type = 'Trade'",
            uuid.UUID(position_id),
        )
        assert ledger == exchange_size


async def test_extra_size_added_on_the_exchange_is_critical_and_engages_the_kill_switch_in_one_pass(
    recon_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    async with running_system(recon_db_url, redis_clean_url, sim) as rig:
        await _open_position(rig, sim)
        await rig.next_pass()
        async with other_client(sim) as other_bot:
            await market(other_bot, "Buy", Decimal("0.010"), "other-bot-1")
        status = await rig.next_pass()
        assert status.passes[0].critical >= 1
        assert status.hold
        snapshot = await rig.risk()
        assert snapshot.record is not None
        assert snapshot.record.kill_switch
        assert snapshot.record.state.value == "halted"
        assert "size_mismatch" in (snapshot.record.reason or "")
        assert snapshot.reconciliation_hold
        assert await _kinds(rig, "critical") == ["size_mismatch"]
        assert rig.metrics is not None
        counted = rig.metrics.registry.get_sample_value(
            "algogrid_reconciliation_findings_total", {"severity": "critical", "kind": "size_mismatch"}
        )
        assert counted == 1.0

        # the next passes see the same drift: one log row, one engagement
        await rig.next_pass()
        assert await _kinds(rig, "critical") == ["size_mismatch"]

        # an admin acknowledges: the hold is released (the kill switch stays until an operator releases it)
        done = await rig.storage.reconciliation.acknowledge(None, by="admin@test")
        assert done
        from actors.reconciler import FindingsAcknowledged

        rig.tree.ref("root/reconciler").tell(FindingsAcknowledged(ids=tuple(done), by="admin@test"))

        async def released() -> bool:
            return not (await rig.risk()).reconciliation_hold

        await eventually_async(released, timeout=5)
        audited = await rig.storage.db.fetchval(
            "SELECT count(*) FROM audit_trail "
            "WHERE action = 'reconciliation.acknowledged' AND actor_label = $1",
            "admin@test",
        )
        assert audited == 1


async def test_with_liquidation_configured_a_critical_drift_flattens_the_symbol_and_our_close_is_adopted(
    recon_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    config = FAST.model_copy(update={"liquidate_on_critical": True})
    async with running_system(recon_db_url, redis_clean_url, sim, config=config) as rig:
        position_id = await _open_position(rig, sim)
        await rig.next_pass()
        async with other_client(sim) as other_bot:
            await market(other_bot, "Buy", Decimal("0.010"), "other-bot-3")  # size we did not trade

            async def flat_on_the_exchange() -> bool:
                return not [p for p in await other_bot.get_positions(SYMBOL) if p.size > 0]

            await eventually_async(flat_on_the_exchange, timeout=15)
        assert (await rig.risk()).record.kill_switch  # type: ignore[union-attr]

        async def adopted() -> bool:
            row = await rig.storage.execution.get_position(position_id)
            return row is not None and row.status == "closed"

        await eventually_async(adopted, timeout=15)  # the next passes find our position flat: adopted
        assert "size_mismatch" in await _kinds(rig, "critical")


async def test_an_orphan_order_of_ours_is_cancelled_and_logged_as_a_warning(
    recon_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    async with running_system(recon_db_url, redis_clean_url, sim) as rig:
        ask, _ = best_ask(sim)
        link = order_link_id(str(uuid.uuid4()), OrderPurpose.ENTRY, 0)  # ours in shape, owned by nothing
        async with other_client(sim) as leftover:
            await leftover.create_order(
                OrderRequest(
                    symbol=SYMBOL, side="Buy", order_type="Limit", qty=Decimal("0.001"), price=ask - 5000,
                    order_link_id=link,
                )
            )  # fmt: skip
            await rig.next_pass()

            async def cancelled() -> bool:
                return not [o for o in await leftover.get_open_orders(SYMBOL) if o.order_link_id == link]

            await eventually_async(cancelled, timeout=10)
        assert await _kinds(rig, "warning") == ["orphan_order"]
        assert not (await rig.risk()).record.kill_switch  # type: ignore[union-attr]


async def test_a_stop_cancelled_by_another_client_is_placed_again_for_the_open_size(
    recon_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    async with running_system(recon_db_url, redis_clean_url, sim) as rig:
        position_id = await _open_position(rig, sim)
        stops = [o for o in sim.account(API_KEY).orders.values() if o.conditional]
        assert len(stops) == 1
        first = stops[0]
        async with other_client(sim) as person:  # a person cancels the stop by hand on the venue
            await person.cancel_order(SYMBOL, order_link_id=first.order_link_id)

        def stop_works_again() -> list[Any]:
            return [
                o for o in sim.account(API_KEY).orders.values()
                if o.conditional and o.order_link_id != first.order_link_id and o.status == "Untriggered"
            ]  # fmt: skip

        again = await eventually_async(stop_works_again, timeout=10)
        assert len(again) == 1
        replaced = again[0]
        assert (replaced.trigger_price, replaced.qty) == (first.trigger_price, first.qty)

        async def stored_as_venue() -> bool:  # the venue's order event reaches our row a moment later
            rows = await rig.storage.db.fetch(
                "SELECT status FROM orders WHERE position_id = $1::uuid AND purpose = 'sl'"
                " ORDER BY created_at",
                uuid.UUID(position_id),
            )
            return [r["status"] for r in rows] == ["cancelled", "untriggered"]

        await eventually_async(stored_as_venue, timeout=10)
        assert await _kinds(rig, "critical") == []


async def test_a_silently_dead_private_stream_is_detected_and_revalidated_by_rest(
    recon_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    fast_heartbeat = {"ping_interval_s": 0.3, "pong_timeout_s": 0.4, "silence_timeout_s": 0.4}
    slow_passes = FAST.model_copy(update={"interval_s": 120.0})  # only the resume may re-validate here
    async with running_system(
        recon_db_url, redis_clean_url, sim, config=slow_passes, exchange_overrides=fast_heartbeat
    ) as rig:
        position_id = await _open_position(rig, sim)
        assert rig.session is not None
        silences, resumes = rig.session.stats.silences, rig.session.resumes
        passes = len((await rig.status()).passes)
        tp1 = (await rig.positions())[0].tp1
        assert tp1 is not None
        assert sim.silence_connections("private") == 1  # connected, but not even a pong comes back
        sim.set_price(SYMBOL, tp1 + 200)  # TP1 fills: its push goes nowhere

        async def tp_fill_stored() -> bool:
            fills = await rig.storage.db.fetchval(
                "SELECT count(*) FROM executions e JOIN orders o ON o.client_order_id = e.order_link_id "
                "WHERE e.position_id = $1::uuid AND o.purpose = 'tp'",
                uuid.UUID(position_id),
            )
            return bool(fills)

        session = rig.session
        await eventually_async(lambda: session.stats.silences > silences, timeout=10)  # dead by its budget
        await eventually_async(lambda: session.resumes > resumes, timeout=10)  # reconnected and caught up
        await eventually_async(tp_fill_stored, timeout=15)

        async def passed_again() -> bool:
            return len((await rig.status()).passes) > passes  # the resume also asked for a pass

        await eventually_async(passed_again, timeout=10)
        assert await _kinds(rig, "critical") == []


async def test_outside_activity_on_the_private_stream_is_judged_at_once_not_after_an_interval(
    recon_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    slow_passes = FAST.model_copy(update={"interval_s": 120.0})
    async with running_system(recon_db_url, redis_clean_url, sim, config=slow_passes) as rig:
        await _open_position(rig, sim)
        async with other_client(sim) as other_bot:
            await market(other_bot, "Buy", Decimal("0.010"), "other-bot-3")

        async def critical() -> bool:
            return any(f.severity == "critical" for f in (await rig.status()).open_findings)

        await eventually_async(critical, timeout=5)  # the interval is two minutes
        assert (await rig.risk()).record.kill_switch  # type: ignore[union-attr]
