"""The REST adapter drives the order path against the simulator over real sockets: conditional stop-loss,
amend, reduce-only take-profit, IOC, order history, cancel-all, closed PnL and funding — typed results in
Decimal, every rejection a ``BybitApiError`` carrying Bybit's retCode and message."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from exchange import (
    AmendRequest,
    BybitApiError,
    BybitRestClient,
    Credentials,
    ExchangeConfig,
    OrderRequest,
    RetCode,
)
from exchange.simulator import Simulator, SimulatorConfig, open_simulator
from tests.support import eventually_async

CREDS = Credentials(api_key="sim-key", api_secret="sim-secret")  # type: ignore[arg-type]
SYMBOL = "BTCUSDT"
CENT = Decimal("0.01")


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    config = SimulatorConfig(
        symbols=(SYMBOL,), speed=600, book_interval_ms=20, history_bars=5, read_rate_limit_per_s=1000
    )
    async with open_simulator(config) as venue:
        venue.add_account("sim-key", "sim-secret", Decimal("100000"))
        yield venue


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[BybitRestClient]:
    config = ExchangeConfig(
        rest_url=sim.rest_url,
        ws_public_url=sim.ws_public_url,
        ws_private_url=sim.ws_private_url,
        retry_backoff_min_s=0.005,
        retry_backoff_max_s=0.05,
        request_timeout_s=2.0,
    )
    async with BybitRestClient(config, CREDS) as rest:
        yield rest


async def _freeze(sim: Simulator) -> None:
    sim.clock.pause()
    frozen = sim.clock.now_ms()
    await eventually_async(lambda: sim.market(SYMBOL).now_ms == frozen)
    done = sim.steps
    await eventually_async(lambda: sim.steps >= done + 2)


def _market(side: str, qty: str, link: str, **extra: object) -> OrderRequest:
    return OrderRequest.model_validate(
        {"symbol": SYMBOL, "side": side, "order_type": "Market", "qty": qty, "order_link_id": link} | extra
    )


async def _status(client: BybitRestClient, link: str, status: str) -> None:
    async def reached() -> bool:
        order = await client.get_order(SYMBOL, order_link_id=link)
        return order is not None and order.status == status

    await eventually_async(reached)


async def test_stop_loss_is_placed_moved_triggered_and_the_close_reconciles(
    sim: Simulator, client: BybitRestClient
) -> None:
    await _freeze(sim)
    await client.create_order(_market("Buy", "0.050", "entry"))
    entry = sim.market(SYMBOL).last_price()
    stop = OrderRequest(
        symbol=SYMBOL,
        side="Sell",
        order_type="Market",
        qty=Decimal("0.050"),
        order_link_id="sl",
        reduce_only=True,
        close_on_trigger=True,
        trigger_price=entry - Decimal("200.0"),
        trigger_direction=2,
    )
    ack = await client.create_order(stop)
    waiting = await client.get_order(SYMBOL, order_link_id="sl")
    assert waiting is not None
    assert waiting.order_id == ack.order_id
    assert (waiting.status, waiting.stop_order_type, waiting.trigger_direction) == ("Untriggered", "Stop", 2)
    assert waiting.trigger_price == entry - Decimal("200.0")
    assert waiting.close_on_trigger

    await client.amend_order(AmendRequest(symbol=SYMBOL, order_link_id="sl", trigger_price=entry - 50))
    moved = await client.get_order(SYMBOL, order_id=ack.order_id)
    assert moved is not None
    assert moved.trigger_price == entry - 50

    sim.set_price(SYMBOL, entry - Decimal("80.0"))
    await _status(client, "sl", "Filled")
    [position] = await client.get_positions(SYMBOL)
    assert position.size == 0
    opened = (await client.get_executions(order_link_id="entry")).items
    closed = (await client.get_executions(order_link_id="sl")).items
    assert all(e.stop_order_type == "Stop" and e.order_type == "Market" for e in closed)
    page = await client.get_closed_pnl_page(SYMBOL)
    [record] = page.items
    assert page.next_cursor == ""
    open_fee = sum((e.exec_fee or Decimal(0) for e in opened), Decimal(0))
    close_fee = sum((e.exec_fee or Decimal(0) for e in closed), Decimal(0))
    gross = sum((e.exec_pnl or Decimal(0) for e in closed), Decimal(0))
    assert record.order_id == ack.order_id
    assert record.closed_size == Decimal("0.050")
    assert record.open_fee is not None
    assert record.close_fee is not None
    assert record.open_fee.quantize(CENT) == open_fee.quantize(CENT)
    assert record.close_fee.quantize(CENT) == close_fee.quantize(CENT)
    assert record.closed_pnl.quantize(CENT) == (gross - open_fee - close_fee).quantize(CENT)
    assert abs(gross - (record.cum_exit_value - record.cum_entry_value)) < Decimal("1e-7")


async def test_rejections_carry_bybit_ret_codes_and_messages(sim: Simulator, client: BybitRestClient) -> None:
    await _freeze(sim)
    last = sim.market(SYMBOL).last_price()
    with pytest.raises(BybitApiError) as no_position:
        await client.create_order(_market("Sell", "0.010", "ro", reduce_only=True))
    assert no_position.value.code is RetCode.REDUCE_ONLY_REJECTED
    assert no_position.value.ret_code == 110017
    assert "position is zero" in str(no_position.value)
    await client.create_order(_market("Buy", "0.010", "long"))
    crossed = _market(
        "Sell", "0.010", "sl-bad", reduce_only=True, trigger_price=last + 5, trigger_direction=2
    )
    with pytest.raises(BybitApiError) as wrong_side:
        await client.create_order(crossed)
    assert wrong_side.value.code is RetCode.TRIGGER_NOT_BELOW_PRICE
    assert "expect Falling" in str(wrong_side.value)
    with pytest.raises(BybitApiError) as unknown:
        await client.amend_order(AmendRequest(symbol=SYMBOL, order_link_id="nope", qty=Decimal("0.002")))
    assert unknown.value.code is RetCode.ORDER_NOT_EXISTS
    assert "order not exists" in str(unknown.value)
    await client.create_order(
        _market("Sell", "0.010", "sl-ok", reduce_only=True, trigger_price=last - 100, trigger_direction=2)
    )
    with pytest.raises(BybitApiError) as same:
        await client.amend_order(AmendRequest(symbol=SYMBOL, order_link_id="sl-ok", trigger_price=last - 100))
    assert same.value.code is RetCode.NOT_MODIFIED
    assert await client.get_order(SYMBOL, order_link_id="never-placed") is None


async def test_reduce_only_take_profit_fills_partially_then_fully(
    sim: Simulator, client: BybitRestClient
) -> None:
    await _freeze(sim)
    await client.create_order(_market("Buy", "0.010", "long"))
    market = sim.market(SYMBOL)
    best_ask = market.book.best_ask()
    assert best_ask is not None
    tp_ticks = best_ask + 300
    tp = OrderRequest(
        symbol=SYMBOL,
        side="Sell",
        order_type="Limit",
        qty=Decimal("0.010"),
        price=market.spec.price_of(tp_ticks),
        order_link_id="tp1",
        reduce_only=True,
    )
    await client.create_order(tp)
    market.book.bids[tp_ticks] = 3
    await _status(client, "tp1", "PartiallyFilled")
    market.book.bids[tp_ticks] = 50
    await _status(client, "tp1", "Filled")
    history = await client.get_order_history(SYMBOL, order_status="Filled")
    assert [o.order_link_id for o in history.items] == ["tp1", "long"]
    [done] = [o for o in history.items if o.order_link_id == "tp1"]
    assert done.cum_exec_qty == Decimal("0.010")
    assert done.reduce_only
    records = (await client.get_closed_pnl_page(SYMBOL)).items
    assert sorted(r.closed_size for r in records) == [Decimal("0.003"), Decimal("0.007")]


async def test_ioc_limit_fills_what_crosses_and_cancels_the_rest(
    sim: Simulator, client: BybitRestClient
) -> None:
    await _freeze(sim)
    market = sim.market(SYMBOL)
    best_ask = market.book.best_ask()
    assert best_ask is not None
    size = market.spec.qty_of(market.book.asks[best_ask])
    ioc = OrderRequest(
        symbol=SYMBOL,
        side="Buy",
        order_type="Limit",
        qty=size + Decimal("0.5"),
        price=market.spec.price_of(best_ask),
        time_in_force="IOC",
        order_link_id="ioc",
    )
    await client.create_order(ioc)
    order = await client.get_order(SYMBOL, order_link_id="ioc")
    assert order is not None
    assert (order.status, order.cum_exec_qty, order.leaves_qty) == ("Cancelled", size, 0)


async def test_cancel_all_cancels_by_filter_and_reports_each_order(
    sim: Simulator, client: BybitRestClient
) -> None:
    await _freeze(sim)
    await client.create_order(_market("Buy", "0.010", "long"))
    last = sim.market(SYMBOL).last_price()
    await client.create_order(
        _market("Sell", "0.010", "sl", reduce_only=True, trigger_price=last - 100, trigger_direction=2)
    )
    limit = OrderRequest(
        symbol=SYMBOL,
        side="Sell",
        order_type="Limit",
        qty=Decimal("0.010"),
        price=last + 500,
        order_link_id="tp",
        reduce_only=True,
    )
    await client.create_order(limit)
    stops = await client.cancel_all_orders(SYMBOL, order_filter="StopOrder")
    assert [a.order_link_id for a in stops] == ["sl"]
    rest = await client.cancel_all_orders(SYMBOL)
    assert [a.order_link_id for a in rest] == ["tp"]
    deactivated = await client.get_order(SYMBOL, order_link_id="sl")
    assert deactivated is not None
    assert deactivated.status == "Deactivated"
    assert await client.get_open_orders(SYMBOL) == []


async def test_funding_arrives_as_executions_and_the_wallet_reconciles_to_the_cent(
    sim: Simulator, client: BybitRestClient
) -> None:
    await _freeze(sim)
    [before] = await client.get_wallet_balance()
    await client.create_order(_market("Buy", "0.100", "long"))
    funding_at = sim.market(SYMBOL).next_funding_ms
    sim.clock.advance(funding_at - sim.clock.now_ms() + 1)

    async def funded() -> bool:
        return bool((await client.get_executions(symbol=SYMBOL, exec_type="Funding")).items)

    await eventually_async(funded)
    await _freeze(sim)
    await client.create_order(_market("Sell", "0.100", "flat", reduce_only=True))
    [funding] = (await client.get_executions(symbol=SYMBOL, exec_type="Funding")).items
    assert funding.exec_time == funding_at
    assert funding.exec_fee == funding.exec_qty * funding.exec_price * (funding.fee_rate or 0)
    trades = (await client.get_executions(symbol=SYMBOL, exec_type="Trade")).items
    [after] = await client.get_wallet_balance()
    assert before.total_wallet_balance is not None
    assert after.total_wallet_balance is not None
    fees = sum((t.exec_fee or Decimal(0) for t in trades), Decimal(0))
    gross = sum((t.exec_pnl or Decimal(0) for t in trades), Decimal(0))
    change = after.total_wallet_balance - before.total_wallet_balance
    assert change.quantize(CENT) == (gross - fees - (funding.exec_fee or 0)).quantize(CENT)
    [record] = (await client.get_closed_pnl_page(SYMBOL)).items
    assert record.closed_pnl.quantize(CENT) == (gross - fees).quantize(CENT)


async def test_a_lost_stop_loss_create_response_still_leaves_exactly_one_stop(
    sim: Simulator, client: BybitRestClient
) -> None:
    await _freeze(sim)
    await client.create_order(_market("Buy", "0.010", "long"))
    last = sim.market(SYMBOL).last_price()
    sim.faults.drop_order_create_responses = 1
    stop = _market(
        "Sell", "0.010", "sl-lost", reduce_only=True, trigger_price=last - 100, trigger_direction=2
    )
    ack = await client.create_order(stop)
    assert client.stats.unknown_outcomes == 1
    stops = await client.get_open_orders(SYMBOL)
    assert [(o.order_id, o.status) for o in stops] == [(ack.order_id, "Untriggered")]


async def test_delayed_fills_arrive_after_the_acknowledgement(
    sim: Simulator, client: BybitRestClient
) -> None:
    await _freeze(sim)
    sim.faults.fill_delay_ms = 200
    ack = await client.create_order(_market("Buy", "0.010", "slow"))
    acked = await client.get_order(SYMBOL, order_id=ack.order_id)
    assert acked is not None
    assert (acked.status, acked.cum_exec_qty) == ("New", 0)
    await _status(client, "slow", "Filled")
    fills = (await client.get_executions(order_id=ack.order_id)).items
    assert sum(f.exec_qty for f in fills) == Decimal("0.010")
