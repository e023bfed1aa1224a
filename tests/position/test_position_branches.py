"""Partial fills (E-03), rejections in plain words (E-07), close with the exchange's PnL (E-06), break-even
(R-05) and a crash mid-order — the PositionActor on real parts (see ``position_kit``)."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_FLOOR, Decimal

from actors.monitor import MoveStopToEntry, ReduceOnlyCloseRequested
from actors.paths import position_path
from actors.position import ExecutionConfig, PrivateStreamResumed, StepDone
from exchange.simulator import Simulator
from strategy_core.config import InstrumentRules
from strategy_core.execution import modelled_slippage_pct
from strategy_core.models import Side
from tests.position.conftest import FUNDING_AT
from tests.position.position_kit import API_KEY, RULES, SYMBOL, best_ask, running_position
from tests.support import eventually_async

DEEP = Decimal(5_000_000)  # a book deeper than $1M: no thin-book add-on
_BASE_PCT = ExecutionConfig().slippage_base_pct
_MODEL_ATR_DEEP = modelled_slippage_pct(_BASE_PCT, atr_above_p80=True, depth_usd=DEEP) * 100  # in bps


def _distance_for(ratio: Decimal, level: Decimal, r_unit: Decimal = Decimal(25)) -> Decimal:
    """Return the SL distance that sizes the order so the best ask level fills ``ratio`` of it."""
    qty = (level / ratio).quantize(Decimal("0.001"), rounding=ROUND_FLOOR)
    return (r_unit / qty).quantize(Decimal("0.1"))


async def test_a_partial_fill_is_accepted_and_protected_at_the_filled_size(
    position_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    async with running_position(position_db_url, redis_clean_url, sim) as rig:
        ask, level = best_ask(sim)
        signal_id = await rig.signal(entry=ask, sl_distance=_distance_for(Decimal("0.7"), level))

        outcome = await rig.place(signal_id)

        assert outcome.order_status == "partial", outcome
        assert Decimal("0.5") <= outcome.fill_ratio < Decimal("0.95")
        assert outcome.position is not None
        assert outcome.position.status == "partial_accepted"
        assert outcome.position.executed_size == level
        assert "filled" in outcome.message

        def protected() -> bool:
            return len([o for o in rig.exchange_orders() if o.reduce_only]) == 4

        await eventually_async(protected, timeout=10)
        stop = next(o for o in rig.exchange_orders() if o.conditional)
        assert stop.qty == level
        tps = [o for o in rig.exchange_orders() if o.reduce_only and not o.conditional]
        assert sum((o.qty for o in tps), Decimal(0)) == level


async def test_a_partial_fill_with_the_retry_policy_is_topped_up(
    position_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    config = ExecutionConfig(fill_wait_seconds=1.0, poll_interval_s=0.2, partial_fill_policy="retry")
    async with running_position(position_db_url, redis_clean_url, sim, config=config) as rig:
        ask, level = best_ask(sim)
        signal_id = await rig.signal(entry=ask, sl_distance=_distance_for(Decimal("0.7"), level))

        outcome = await rig.place(signal_id)

        assert outcome.order_status == "filled", outcome
        assert outcome.position is not None
        assert outcome.position.executed_size == outcome.position.requested_size
        links = [o.order_link_id for o in rig.exchange_orders() if not o.reduce_only]
        assert len(links) == 2
        assert any(link.endswith("-u1") for link in links)


async def test_an_underfill_is_cancelled_closed_and_explained(
    position_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    async with running_position(position_db_url, redis_clean_url, sim) as rig:
        ask, level = best_ask(sim)
        signal_id = await rig.signal(entry=ask, sl_distance=_distance_for(Decimal("0.3"), level))

        outcome = await rig.place(signal_id)

        assert outcome.order_status == "underfill", outcome
        assert outcome.fill_ratio < Decimal("0.5")
        assert "below the minimum" in outcome.message

        async def flat() -> bool:
            positions = await rig.rest.get_positions(SYMBOL)
            return all(p.size == 0 for p in positions)

        await eventually_async(flat, timeout=10)

        async def closed() -> bool:
            row = await rig.storage.db.fetchrow(
                "SELECT status, close_reason FROM positions WHERE id = $1::uuid", outcome.position_id
            )
            return row is not None and (row["status"], row["close_reason"]) == ("closed", "underfill")

        await eventually_async(closed, timeout=10)


async def test_rejections_are_stored_with_their_code_and_told_in_plain_words(
    position_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    # The actor believes a finer grid than the venue: the venue refuses the off-tick price, then the tiny qty.
    fine = InstrumentRules(tick_size=Decimal("0.01"), qty_step=Decimal("0.0001"), min_qty=Decimal("0.0001"))
    async with running_position(position_db_url, redis_clean_url, sim, instruments={SYMBOL: fine}) as rig:
        ask, _ = best_ask(sim)
        off_tick = await rig.signal(entry=ask + Decimal("0.05"), sl_distance=Decimal(500))
        tiny = await rig.signal(entry=ask, sl_distance=Decimal(50_000))  # 25 / 50000 = 0.0005 < 0.001

        price = await rig.place(off_tick)
        qty = await rig.place(tiny)

        assert (price.order_status, price.reason_code) == ("rejected", "price_off_tick"), price
        assert "price" in price.message
        assert (qty.order_status, qty.reason_code) == ("rejected", "qty_below_minimum"), qty
        assert "minimum" in qty.message

        async def both_stored() -> bool:
            rows = await rig.storage.execution.list_rejections(SYMBOL)
            kinds = sorted(r.error_kind for r in rows)
            return kinds == ["price_off_tick", "qty_below_minimum"] and all(r.ret_code == 10001 for r in rows)

        await eventually_async(both_stored, timeout=10)
        assert not rig.exchange_orders()


async def test_insufficient_balance_is_rejected_in_plain_words(
    position_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    sim.account(API_KEY).wallet = Decimal(10)
    async with running_position(position_db_url, redis_clean_url, sim) as rig:
        ask, _ = best_ask(sim)
        signal_id = await rig.signal(entry=ask, sl_distance=Decimal(500))

        outcome = await rig.place(signal_id)

        assert (outcome.order_status, outcome.reason_code) == ("rejected", "insufficient_balance"), outcome
        assert "balance" in outcome.message
        again = await rig.place(signal_id)  # a second click reports the same, sends nothing
        assert (again.order_status, again.position_id) == ("rejected", outcome.position_id)

        async def stored() -> bool:
            rows = await rig.storage.execution.list_rejections(SYMBOL)
            return [(r.ret_code, r.error_kind) for r in rows] == [(110007, "insufficient_balance")]

        await eventually_async(stored, timeout=10)


async def test_close_reports_the_exchange_pnl_fees_and_funding_to_the_cent(
    position_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    async with running_position(position_db_url, redis_clean_url, sim) as rig:
        ask, _ = best_ask(sim)
        signal_id = await rig.signal(entry=ask + 50, sl_distance=Decimal(2000))
        opened = await rig.place(signal_id)
        assert opened.order_status == "filled"
        assert opened.position_id is not None
        # Past the funding time: the venue settles funding on the open position.
        now_ms = sim.clock.now_ms()
        sim.clock.advance(int(FUNDING_AT.timestamp() * 1000) - now_ms + 1_000)

        def funded() -> bool:
            return any(e.exec_type == "Funding" for e in sim.account(API_KEY).executions)

        await eventually_async(funded, timeout=10)

        closed = await rig.close(opened.position_id)

        assert closed.status == "closed", closed
        account = sim.account(API_KEY)
        pnl = sum((r.closed_pnl for r in account.closed_pnls if r.symbol == SYMBOL), Decimal(0))
        fees = sum((e.exec_fee for e in account.executions if e.exec_type == "Trade"), Decimal(0))
        funding = sum((e.exec_fee for e in account.executions if e.exec_type == "Funding"), Decimal(0))
        assert funding != 0
        cent = Decimal("0.01")
        assert closed.pnl_usd is not None
        assert closed.fees_usd is not None
        assert closed.funding_usd is not None
        assert closed.pnl_usd.quantize(cent) == pnl.quantize(cent)
        assert closed.fees_usd.quantize(cent) == fees.quantize(cent)
        assert closed.funding_usd.quantize(cent) == funding.quantize(cent)
        # G-06: the close is counted once, its realised PnL on the profit or the loss counter
        assert rig.sample("algogrid_positions_closed_total", symbol=SYMBOL, reason="manual") == 1
        profit = rig.sample("algogrid_realised_profit_usd_total", symbol=SYMBOL)
        loss = rig.sample("algogrid_realised_loss_usd_total", symbol=SYMBOL)
        assert round(profit - loss, 6) == round(float(pnl), 6)
        again = await rig.close(opened.position_id)
        assert again.status == "already_closed"
        assert rig.sample("algogrid_positions_closed_total", symbol=SYMBOL, reason="manual") == 1
        unknown = await rig.close("00000000-0000-0000-0000-000000000000")
        assert unknown.status == "unknown_position"
        row = await rig.storage.db.fetchrow(
            "SELECT status, pnl_usd, close_reason FROM positions WHERE id = $1::uuid", opened.position_id
        )
        assert row is not None
        assert row["status"] == "closed"
        assert row["close_reason"] == "manual"
        audit = await rig.storage.db.fetchval(
            "SELECT count(*) FROM audit_trail WHERE action = 'position_closed' AND target_id = $1",
            opened.position_id,
        )
        assert audit == 1


async def test_break_even_amends_the_stop_to_the_entry(
    position_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    async with running_position(position_db_url, redis_clean_url, sim) as rig:
        ask, _ = best_ask(sim)
        signal_id = await rig.signal(entry=ask + 50, sl_distance=Decimal(500))
        opened = await rig.place(signal_id)
        assert opened.position_id is not None
        assert opened.avg_price is not None

        def protected() -> bool:
            return any(o.conditional for o in rig.exchange_orders())

        await eventually_async(protected, timeout=10)
        sim.set_price(SYMBOL, opened.avg_price + 300)  # a falling stop must stay below the price
        rig.ref.tell(
            MoveStopToEntry(
                position_id=opened.position_id,
                symbol=SYMBOL,
                new_sl=opened.avg_price,
                at=dt.datetime.now(dt.UTC),
            )
        )

        def moved() -> bool:
            stop = next(o for o in rig.exchange_orders() if o.conditional)
            return stop.trigger_price == opened.avg_price

        await eventually_async(moved, timeout=10)

        async def stored() -> bool:
            views = await rig.positions()
            return any(v.be_moved and v.sl == opened.avg_price for v in views)

        await eventually_async(stored, timeout=10)
        assert len([o for o in rig.exchange_orders() if o.conditional]) == 1


async def test_a_crash_mid_order_restarts_rebuilds_and_never_sends_a_second_order(
    position_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    async with running_position(position_db_url, redis_clean_url, sim) as rig:
        ask, _ = best_ask(sim)
        # 50 above the best ask: the IOC limit reaches deeper levels, never hanging on one level's size
        signal_id = await rig.signal(
            entry=ask + 50, sl_distance=Decimal(500), atr_above_p80=True, book_depth_usd=DEEP
        )
        # The create's answer is held (the client times out and looks the link up); meanwhile the order fills
        # on the venue and the actor dies on its next job result: mid-order, intent committed, ack unseen.
        sim.faults.drop_order_create_responses = 1
        future = rig.place_future(signal_id)

        def on_the_venue() -> bool:
            return bool(rig.exchange_orders())

        await eventually_async(on_the_venue, timeout=10)
        rig.tree.faults.crash_on_next(position_path(SYMBOL), StepDone)

        def restarted() -> bool:
            return rig.ref.incarnation >= 2

        await eventually_async(restarted, timeout=10)
        rig.tree.faults.clear()

        async def rebuilt_and_protected() -> bool:
            views = await rig.positions()
            return len(views) == 1 and len([o for o in rig.exchange_orders() if o.reduce_only]) == 4

        await eventually_async(rebuilt_and_protected, timeout=15)
        assert not future.done() or future.get(timeout=0).order_status in {"filled", "rejected"}
        again = await rig.place(signal_id)
        assert again.order_status == "filled", again
        entries = [o for o in rig.exchange_orders() if not o.reduce_only]
        assert len(entries) == 1
        assert RULES.qty_step == Decimal("0.001")
        # The entry's slippage was committed with its fill: the crash on the fills' result lost neither.
        rows = await rig.storage.execution.list_slippage(again.position_id or "")
        entry_fills = await rig.storage.db.fetchval(
            "SELECT count(*) FROM executions WHERE order_link_id = $1", entries[0].order_link_id
        )
        assert [r.leg for r in rows] == ["entry"] * entry_fills
        assert {r.modelled_bps for r in rows} == {_MODEL_ATR_DEEP}


async def test_a_restarted_actor_logs_exit_slippage_against_the_signals_market_context(
    position_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    async with running_position(position_db_url, redis_clean_url, sim) as rig:
        ask, _ = best_ask(sim)
        signal_id = await rig.signal(
            entry=ask + 50, sl_distance=Decimal(500), atr_above_p80=True, book_depth_usd=DEEP
        )
        opened = await rig.place(signal_id)
        assert opened.order_status == "filled", opened
        assert opened.avg_price is not None

        def protected() -> bool:
            return len([o for o in rig.exchange_orders() if o.reduce_only]) == 4

        await eventually_async(protected, timeout=10)
        rig.tree.faults.crash_now(position_path(SYMBOL))  # the next incarnation rebuilds from PG + exchange
        await eventually_async(lambda: rig.ref.incarnation >= 2, timeout=10)

        async def rebuilt() -> bool:
            return len(await rig.positions()) == 1

        await eventually_async(rebuilt, timeout=10)
        sim.set_price(SYMBOL, opened.avg_price + 600)  # through TP1, seen by the restarted actor
        sim.clock.resume()

        async def exit_logged() -> bool:
            rows = await rig.storage.execution.list_slippage(opened.position_id or "")
            return any(r.leg == "exit" for r in rows)

        await eventually_async(exit_logged, timeout=10)
        sim.clock.pause()
        rows = await rig.storage.execution.list_slippage(opened.position_id or "")
        assert {r.modelled_bps for r in rows if r.leg == "exit"} == {_MODEL_ATR_DEEP}


async def test_life_cycle_tp1_break_even_tp2_then_close_matches_the_exchange_to_the_cent(
    position_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    async with running_position(position_db_url, redis_clean_url, sim) as rig:
        ask, _ = best_ask(sim)
        signal_id = await rig.signal(entry=ask + 50, sl_distance=Decimal(500))
        opened = await rig.place(signal_id)
        assert opened.order_status == "filled"
        assert opened.position_id is not None
        assert opened.avg_price is not None

        def protected() -> bool:
            return len([o for o in rig.exchange_orders() if o.reduce_only]) == 4

        await eventually_async(protected, timeout=10)

        def tp_filled(n: int) -> bool:
            tps = [o for o in rig.exchange_orders() if o.reduce_only and not o.conditional]
            return sum(1 for o in tps if o.status == "Filled") >= n

        sim.set_price(SYMBOL, opened.avg_price + 600)  # through TP1
        sim.clock.resume()
        await eventually_async(lambda: tp_filled(1), timeout=10)
        sim.clock.pause()
        rig.ref.tell(
            MoveStopToEntry(
                position_id=opened.position_id,
                symbol=SYMBOL,
                new_sl=opened.avg_price,
                at=dt.datetime.now(dt.UTC),
            )
        )

        async def at_break_even() -> bool:
            return any(v.be_moved for v in await rig.positions())

        await eventually_async(at_break_even, timeout=10)
        sim.set_price(SYMBOL, opened.avg_price + 1100)  # through TP2
        sim.clock.resume()
        await eventually_async(lambda: tp_filled(2), timeout=10)
        sim.clock.pause()

        async def exits_seen() -> bool:
            rows = await rig.storage.db.fetchval(
                "SELECT count(*) FROM executions WHERE order_link_id LIKE '%-t_'"
            )
            return bool(rows >= 2)

        await eventually_async(exits_seen, timeout=10)
        closed = await rig.close(opened.position_id)

        assert closed.status == "closed", closed
        account = sim.account(API_KEY)
        pnl = sum((r.closed_pnl for r in account.closed_pnls if r.symbol == SYMBOL), Decimal(0))
        fees = sum((e.exec_fee for e in account.executions if e.exec_type == "Trade"), Decimal(0))
        assert len([r for r in account.closed_pnls if r.symbol == SYMBOL]) >= 3  # TP1, TP2, the close
        cent = Decimal("0.01")
        assert closed.pnl_usd is not None
        assert closed.pnl_usd.quantize(cent) == pnl.quantize(cent)
        assert closed.fees_usd is not None
        assert closed.fees_usd.quantize(cent) == fees.quantize(cent)
        assert closed.position is not None
        assert closed.position.be_moved
        positions = await rig.rest.get_positions(SYMBOL)
        assert all(p.size == 0 for p in positions)


async def test_an_unanswered_risk_check_refuses_the_click_and_sends_nothing(
    position_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    config = ExecutionConfig(fill_wait_seconds=1.0, poll_interval_s=0.2, risk_timeout_s=0.5)
    async with running_position(position_db_url, redis_clean_url, sim, config=config) as rig:
        ask, _ = best_ask(sim)
        signal_id = await rig.signal(entry=ask, sl_distance=Decimal(500))
        rig.tree.faults.delay_next("root/risk", 2.0)

        outcome = await rig.place(signal_id)

        assert (outcome.order_status, outcome.reason_code) == ("rejected", "risk_unavailable"), outcome
        assert "risk check" in outcome.message
        assert not rig.exchange_orders()


async def test_the_funding_rule_closes_reduce_only_until_flat(
    position_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    async with running_position(position_db_url, redis_clean_url, sim) as rig:
        ask, _ = best_ask(sim)
        opened = await rig.place(await rig.signal(entry=ask, sl_distance=Decimal(500)))
        assert opened.position_id is not None
        rig.ref.tell(
            ReduceOnlyCloseRequested(
                position_id=opened.position_id,
                symbol=SYMBOL,
                side=Side.LONG,
                reason="funding in 10 min, UPnL below threshold",
                at=dt.datetime.now(dt.UTC),
            )
        )

        async def closed() -> bool:
            views = await rig.positions()
            return any(v.status == "closed" and v.close_reason == "funding" for v in views)

        await eventually_async(closed, timeout=10)
        positions = await rig.rest.get_positions(SYMBOL)
        assert all(p.size == 0 for p in positions)
        exits = [o for o in rig.exchange_orders() if o.order_link_id.endswith("-f0")]
        assert len(exits) == 1
        assert exits[0].reduce_only
        assert exits[0].time_in_force == "IOC"


async def test_a_resumed_private_stream_revalidates_with_a_rest_snapshot(
    position_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    config = ExecutionConfig(fill_wait_seconds=30.0, poll_interval_s=0.2)
    async with running_position(position_db_url, redis_clean_url, sim, config=config, private=False) as rig:
        ask, _ = best_ask(sim)
        future = rig.place_future(await rig.signal(entry=ask + 50, sl_distance=Decimal(500)))
        await eventually_async(lambda: bool(rig.exchange_orders()), timeout=10)
        assert not future.done()  # no stream, and the fill wait (30 s) is far

        rig.ref.tell(PrivateStreamResumed(at=dt.datetime.now(dt.UTC)))

        outcome = await rig.bridge.wait(future, timeout=10)
        assert outcome.order_status == "filled", outcome


async def test_a_symbol_without_instrument_rules_takes_no_order(
    position_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    async with running_position(position_db_url, redis_clean_url, sim, instruments={}) as rig:
        ask, _ = best_ask(sim)

        outcome = await rig.place(await rig.signal(entry=ask, sl_distance=Decimal(500)))

        assert (outcome.order_status, outcome.reason_code) == ("rejected", "instrument_unavailable"), outcome
        assert "no tick or size step is guessed" in outcome.message
        assert not rig.exchange_orders()


async def test_take_profits_that_close_the_position_cancel_its_stop_on_the_exchange(
    position_db_url: str, redis_clean_url: str, sim: Simulator
) -> None:
    async with running_position(position_db_url, redis_clean_url, sim) as rig:
        ask, _ = best_ask(sim)
        opened = await rig.place(await rig.signal(entry=ask + 50, sl_distance=Decimal(500)))
        assert opened.order_status == "filled", opened
        assert opened.avg_price is not None

        def protected() -> bool:
            return len([o for o in rig.exchange_orders() if o.reduce_only]) == 4

        await eventually_async(protected, timeout=10)
        sim.set_price(SYMBOL, opened.avg_price + 3000)  # through TP1, TP2 and TP3
        sim.clock.resume()

        async def closed_by_the_take_profits() -> bool:
            return any(v.status.value == "closed" for v in await rig.positions())

        await eventually_async(closed_by_the_take_profits, timeout=15)
        sim.clock.pause()
        views = await rig.positions()
        assert [v.close_reason for v in views] == ["tp"]
        stops = [o for o in rig.exchange_orders() if o.conditional]
        # Cancelled before its trigger (Bybit: Deactivated); else it would act on the symbol's next position.
        assert [o.status for o in stops] == ["Deactivated"]
