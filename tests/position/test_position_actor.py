"""The PositionActor on real parts: a click becomes exactly one order, its fills a protected position.

Real PostgreSQL, the real RiskActor, the real work queue, the real ``BybitRestClient`` and ``PrivateSession``
against the simulator over real sockets (its clock paused, so the book is known when a test sizes a fill).
"""

from __future__ import annotations

from decimal import Decimal

from exchange.simulator import Simulator
from tests.position.position_kit import API_KEY, SYMBOL, best_ask, running_position
from tests.support import eventually_async


async def test_click_fills_and_places_the_stop_and_three_take_profits(
    position_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    async with running_position(position_db_url, redis_clean_url, sim) as rig:
        ask, size = best_ask(sim)
        assert size >= Decimal("0.05")  # the seeded book: the best ask covers the order
        signal_id = await rig.signal(entry=ask, sl_distance=Decimal(500))

        outcome = await rig.place(signal_id)

        assert outcome.order_status == "filled", outcome
        assert outcome.fill_ratio == 1
        assert outcome.avg_price == ask
        assert outcome.position is not None
        assert outcome.position.executed_size == Decimal("0.05")  # 25 USD / 500 rounded down to 0.001

        def protected() -> bool:
            live = [o for o in rig.exchange_orders() if o.reduce_only]
            return len(live) == 4

        await eventually_async(protected, timeout=10)
        orders = rig.exchange_orders()
        entry = [o for o in orders if not o.reduce_only]
        assert len(entry) == 1
        stops = [o for o in orders if o.conditional]
        assert len(stops) == 1
        assert stops[0].trigger_price == ask - 500
        tps = sorted((o for o in orders if o.reduce_only and not o.conditional), key=lambda o: o.price)
        assert [o.qty for o in tps] == [Decimal("0.02"), Decimal("0.015"), Decimal("0.015")]
        assert [o.price for o in tps] == [ask + 500, ask + 1000, ask + 1500]
        rows = await rig.storage.db.fetch(
            "SELECT purpose, status FROM orders WHERE symbol = $1 ORDER BY purpose", SYMBOL
        )
        assert sorted(r["purpose"] for r in rows) == ["entry", "sl", "tp", "tp", "tp"]


async def test_a_double_click_sends_one_order_and_both_get_the_same_position(
    position_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    async with running_position(position_db_url, redis_clean_url, sim) as rig:
        ask, _ = best_ask(sim)
        signal_id = await rig.signal(entry=ask, sl_distance=Decimal(500))

        first, second = rig.place_future(signal_id), rig.place_future(signal_id)
        one = await rig.bridge.wait(first, timeout=15)
        two = await rig.bridge.wait(second, timeout=15)
        three = await rig.place(signal_id)  # a third click, after the answer

        assert one.position_id == two.position_id == three.position_id
        assert three.order_status == "filled"
        entries = [o for o in rig.exchange_orders() if not o.reduce_only]
        assert len(entries) == 1


async def test_a_lost_create_response_is_settled_by_looking_the_link_up_and_never_resent(
    position_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    async with running_position(position_db_url, redis_clean_url, sim) as rig:
        ask, _ = best_ask(sim)
        signal_id = await rig.signal(entry=ask, sl_distance=Decimal(500))
        sim.faults.drop_order_create_responses = 1

        outcome = await rig.place(signal_id, timeout=30)

        assert outcome.order_status == "filled", outcome
        entries = [o for o in rig.exchange_orders() if not o.reduce_only]
        assert len(entries) == 1
        stored = await rig.storage.db.fetch(
            "SELECT client_order_id, exchange_order_id FROM orders WHERE purpose = 'entry'"
        )
        assert len(stored) == 1
        assert stored[0]["exchange_order_id"] == entries[0].order_id


async def test_duplicated_and_reordered_executions_are_stored_once(
    position_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    async with running_position(position_db_url, redis_clean_url, sim) as rig:
        ask, _ = best_ask(sim)
        # A size that sweeps several levels: several executions of one order.
        signal_id = await rig.signal(entry=ask + 50, sl_distance=Decimal(20))
        sim.faults.duplicate_executions = 5
        sim.faults.reorder_executions = 3

        outcome = await rig.place(signal_id)

        assert outcome.position is not None
        account = sim.account(API_KEY)
        fills = [e for e in account.executions if e.order_link_id.endswith("-e0")]
        assert len(fills) >= 2
        rows = await rig.storage.db.fetch(
            "SELECT exec_id, qty FROM executions WHERE order_link_id LIKE '%-e0'"
        )
        assert sorted(r["exec_id"] for r in rows) == sorted(e.exec_id for e in fills)
        assert outcome.position.executed_size == sum((e.exec_qty for e in fills), Decimal(0))
