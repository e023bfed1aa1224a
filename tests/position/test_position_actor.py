"""The PositionActor on real parts: a click becomes exactly one order, its fills a protected position.

Real PostgreSQL, the real RiskActor, the real work queue, the real ``BybitRestClient`` and ``PrivateSession``
against the simulator over real sockets (its clock paused, so the book is known when a test sizes a fill).
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from actors.position import ExecutionConfig
from exchange.simulator import Simulator
from strategy_core.execution import modelled_slippage_pct
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
        clicked = await rig.storage.db.fetchval(
            "SELECT actor_label FROM audit_trail WHERE action = 'order_intent' AND target_id = $1",
            outcome.position_id,
        )
        assert clicked == "trader"


async def test_a_double_click_sends_one_order_and_both_get_the_same_position(
    position_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    async with running_position(position_db_url, redis_clean_url, sim) as rig:
        ask, _ = best_ask(sim)
        # 50 above the best ask: the IOC limit reaches deeper levels, never hanging on one level's size
        signal_id = await rig.signal(entry=ask + 50, sl_distance=Decimal(500))

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
        # 50 above the best ask: the IOC limit reaches deeper levels, never hanging on one level's size
        signal_id = await rig.signal(entry=ask + 50, sl_distance=Decimal(500))
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
        ask, level = best_ask(sim)
        # Three times the best level: the order sweeps several levels, several executions of one order.
        distance = (Decimal(25) / (3 * level)).quantize(Decimal("0.1"))
        signal_id = await rig.signal(entry=ask + 50, sl_distance=distance)
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
        # G-06: one position opened; each distinct entry fill's slippage observed once, duplicates not again
        assert rig.sample("positions_opened_total", symbol=SYMBOL, side="long") == 1
        assert rig.sample("algogrid_execution_slippage_bps_count", leg="entry") == len(fills)


async def test_without_the_private_stream_fills_are_polled_over_rest(
    position_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    async with running_position(position_db_url, redis_clean_url, sim, private=False) as rig:
        ask, _ = best_ask(sim)
        # 50 above the best ask: the IOC limit reaches deeper levels, never hanging on one level's size
        signal_id = await rig.signal(entry=ask + 50, sl_distance=Decimal(500))

        outcome = await rig.place(signal_id)

        assert outcome.order_status == "filled", outcome
        assert outcome.position is not None
        assert outcome.position.executed_size == Decimal("0.05")
        rows = await rig.storage.db.fetch("SELECT exec_id FROM executions WHERE order_link_id LIKE '%-e0'")
        assert len(rows) >= 1


async def test_an_entry_that_finds_no_liquidity_expires_without_a_position(
    position_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    async with running_position(position_db_url, redis_clean_url, sim) as rig:
        ask, _ = best_ask(sim)
        signal_id = await rig.signal(entry=ask - Decimal(1), sl_distance=Decimal(500))  # a buy below the ask

        outcome = await rig.place(signal_id)

        assert (outcome.order_status, outcome.fill_ratio) == ("expired", 0), outcome
        assert "no position" in outcome.message
        assert not [o for o in rig.exchange_orders() if o.reduce_only]
        positions = await rig.rest.get_positions(SYMBOL)
        assert all(p.size == 0 for p in positions)


async def test_every_change_is_published_and_the_entry_slippage_is_logged(
    position_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    config = ExecutionConfig(fill_wait_seconds=1.0, poll_interval_s=0.2, entry_slippage_ticks=50)
    async with running_position(position_db_url, redis_clean_url, sim, config=config) as rig:
        ask, _ = best_ask(sim)
        signal_id = await rig.signal(entry=ask - Decimal(1), sl_distance=Decimal(500))

        outcome = await rig.place(signal_id)

        assert outcome.order_status == "filled", outcome
        assert outcome.position_id is not None
        assert outcome.avg_price == ask

        def published() -> list[str]:
            return [e.position.status for e in rig.published.events if e.position.id == outcome.position_id]

        await eventually_async(lambda: published()[-1:] == ["open"], timeout=10)
        assert published()[0] == "opening"

        async def logged() -> bool:
            return bool(await rig.storage.execution.list_slippage(outcome.position_id or ""))

        await eventually_async(logged, timeout=10)
        rows = await rig.storage.execution.list_slippage(outcome.position_id)
        expected = Decimal(1) / (ask - Decimal(1)) * 10_000  # paid 1 USD above the signal's entry
        assert [(r.leg, r.slippage_bps) for r in rows] == [("entry", expected)]


async def test_the_slippage_row_carries_the_model_for_the_signals_market_context(
    position_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    config = ExecutionConfig(
        fill_wait_seconds=1.0, poll_interval_s=0.2, entry_slippage_ticks=50, slippage_base_pct=Decimal("0.1")
    )
    async with running_position(position_db_url, redis_clean_url, sim, config=config) as rig:
        ask, _ = best_ask(sim)
        thin = Decimal("250000.125")  # below $1M: +0.25 %
        signal_id = await rig.signal(
            entry=ask - Decimal(1), sl_distance=Decimal(500), atr_above_p80=True, book_depth_usd=thin
        )
        stored = await rig.storage.signals.get(uuid.UUID(signal_id))
        assert stored is not None
        assert (stored.atr_above_p80, stored.book_depth_usd) == (True, thin)

        outcome = await rig.place(signal_id)

        assert outcome.order_status == "filled", outcome
        assert outcome.position_id is not None

        async def logged() -> bool:
            return bool(await rig.storage.execution.list_slippage(outcome.position_id or ""))

        await eventually_async(logged, timeout=10)
        rows = await rig.storage.execution.list_slippage(outcome.position_id)
        model = modelled_slippage_pct(Decimal("0.1"), atr_above_p80=True, depth_usd=thin) * 100
        assert model == Decimal("50.0")  # (0.1 base + 0.15 ATR + 0.25 thin book) % in bps
        # one row per entry fill (the IOC may take one level or two of the moving book), each with the model
        assert rows
        assert {(r.leg, r.modelled_bps) for r in rows} == {("entry", model)}
