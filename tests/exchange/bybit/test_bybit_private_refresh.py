"""After a private reconnect the session refreshes positions and open orders over REST (not only executions)
and publishes them: checked against the simulator with changes made while the socket was down."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
import trio
from bybit_fakes import ListSink
from pydantic import SecretStr

from exchange import (
    BybitRestClient,
    Credentials,
    ExchangeConfig,
    ExecutionReport,
    OrderRequest,
    OrderUpdate,
    PositionUpdate,
    PrivateSession,
)
from exchange.simulator import SimulatorConfig, open_simulator
from tests.support import eventually_async

CREDS = Credentials(api_key="sim-key", api_secret=SecretStr("sim-secret"))


@pytest.fixture
async def sim() -> AsyncIterator[Any]:
    async with open_simulator(SimulatorConfig(symbols=("BTCUSDT",), speed=60, book_interval_ms=50)) as venue:
        venue.add_account("sim-key", "sim-secret", Decimal("10000"))
        yield venue


def _config(sim: Any) -> ExchangeConfig:
    return ExchangeConfig(
        rest_url=sim.rest_url,
        ws_public_url=sim.ws_public_url,
        ws_private_url=sim.ws_private_url,
        retry_backoff_min_s=0.005,
        retry_backoff_max_s=0.05,
        # the socket stays down ~1.5 s after a drop: long enough to change things it will never push
        reconnect_backoff_min_s=1.5,
        reconnect_backoff_max_s=1.5,
        ping_interval_s=0.2,
        pong_timeout_s=0.4,
        silence_timeout_s=0.6,
        request_timeout_s=2.0,
        backfill_margin_ms=600_000,  # the simulator's clock runs 60x: widen the execution window to cover it
    )


def _order(link: str, side: Any, kind: Any, qty: str, price: Decimal | None = None, **kw: Any) -> Any:
    return OrderRequest(
        symbol="BTCUSDT",
        side=side,
        order_type=kind,
        qty=Decimal(qty),
        price=price,
        order_link_id=link,
        **kw,
    )


async def test_private_reconnect_refreshes_positions_and_open_orders(sim: Any) -> None:
    sink = ListSink()
    config = _config(sim)
    async with BybitRestClient(config, CREDS) as client, trio.open_nursery() as nursery:
        private = PrivateSession(config, CREDS, sink, client)
        await nursery.start(private.run)
        with trio.fail_after(10):
            await private.wait_ready()
        [inst] = await client.get_instruments("BTCUSDT")
        book = await client.get_orderbook("BTCUSDT")
        far = (book.bids[-1][0] * Decimal("0.9")) // inst.tick_size * inst.tick_size
        await client.create_order(_order("rest-1", "Buy", "Limit", "0.01", far))
        await client.create_order(_order("rest-2", "Buy", "Limit", "0.01", far))
        await client.create_order(_order("long-1", "Buy", "Market", "0.02"))
        await eventually_async(lambda: len(private.open_orders) == 2 and ("BTCUSDT", 0) in private.positions)

        sim.drop_connections("private")
        await eventually_async(lambda: not private.stats.connected)
        mark = len(sink.events)
        await client.cancel_order("BTCUSDT", order_link_id="rest-2")
        await client.create_order(_order("rest-3", "Buy", "Limit", "0.01", far))
        await client.create_order(_order("flat-1", "Sell", "Market", "0.02", reduce_only=True))
        assert len(sink.events) == mark, "the socket was down: nothing may have arrived over it"

        await eventually_async(
            lambda: (
                private.stats.connected
                and private.stats.orders_refreshed >= 3
                and private.stats.positions_refreshed >= 1
            ),
            timeout=10,
        )
        after = sink.events[mark:]
        orders = {e.order_link_id: e for e in after if isinstance(e, OrderUpdate)}
        assert orders["rest-3"].status == "New"
        assert orders["rest-2"].status == "Cancelled"
        assert orders["rest-1"].status == "New"
        flat = [e for e in after if isinstance(e, PositionUpdate) and e.symbol == "BTCUSDT"]
        assert flat[-1].size == 0
        assert any(isinstance(e, ExecutionReport) and e.order_link_id == "flat-1" for e in after)
        assert {o.order_link_id for o in private.open_orders.values()} == {"rest-1", "rest-3"}
        assert private.positions == {}
        nursery.cancel_scope.cancel()
