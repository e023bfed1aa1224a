"""The PositionActor on real parts: a click becomes exactly one order, its fills a protected position.

Real PostgreSQL, the real RiskActor, the real work queue, the real ``BybitRestClient`` and ``PrivateSession``
against the simulator over real sockets (its clock paused, so the book is known when a test sizes a fill).
"""

from __future__ import annotations

from decimal import Decimal

from exchange.simulator import Simulator
from tests.position.position_kit import SYMBOL, best_ask, running_position
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
