"""The adapter against the Bybit-compatible simulator over real sockets: every endpoint, every topic,
faults (drops, gaps, duplicates, 10006 bursts, lost order-create responses, half-open), wrong signature."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
import trio
from bybit_fakes import ListSink

from exchange import (
    BookSnapshot,
    BybitApiError,
    BybitRestClient,
    Credentials,
    ExchangeConfig,
    ExecutionReport,
    KlineUpdate,
    OrderRequest,
    OrderUpdate,
    PositionUpdate,
    PrivateSession,
    PublicSession,
    PublicTrade,
    RetCode,
    TickerUpdate,
    WalletUpdate,
)
from exchange.simulator import SimulatorConfig, open_simulator
from tests.support import eventually_async

CREDS = Credentials(api_key="sim-key", api_secret="sim-secret")  # type: ignore[arg-type]


@pytest.fixture
async def sim() -> AsyncIterator[Any]:
    async with open_simulator(
        SimulatorConfig(symbols=("BTCUSDT", "ETHUSDT"), speed=60, book_interval_ms=50)
    ) as venue:
        venue.add_account("sim-key", "sim-secret", Decimal("10000"))
        yield venue


def cfg(sim: Any, **kw: Any) -> ExchangeConfig:
    values: dict[str, Any] = {
        "rest_url": sim.rest_url,
        "ws_public_url": sim.ws_public_url,
        "ws_private_url": sim.ws_private_url,
        "retry_backoff_min_s": 0.005,
        "retry_backoff_max_s": 0.05,
        "reconnect_backoff_min_s": 0.01,
        "reconnect_backoff_max_s": 0.1,
        "silence_timeout_s": 0.6,
        "ping_interval_s": 0.2,
        "pong_timeout_s": 0.4,
        "rest_fallback_interval_s": 0.1,
        "resync_min_interval_s": 0.0,
        "request_timeout_s": 2.0,
    }
    values.update(kw)
    return ExchangeConfig(**values)


async def test_every_rest_endpoint_answers_typed_results(sim: Any) -> None:
    async with BybitRestClient(cfg(sim), CREDS) as client:
        await client.sync_time()
        [inst] = await client.get_instruments("BTCUSDT")
        assert inst.tick_size > 0
        assert inst.qty_step > 0
        assert len(await client.get_klines("BTCUSDT", "5", limit=10)) == 10
        [ticker] = await client.get_tickers("BTCUSDT")
        assert ticker.next_funding_time
        assert ticker.funding_rate is not None
        book = await client.get_orderbook("BTCUSDT")
        assert book.bids[0][0] < book.asks[0][0]
        assert (await client.get_account_info()).unified_margin_status >= 1
        assert (await client.get_wallet_balance())[0].total_equity == Decimal("10000")
        ack = await client.create_order(
            OrderRequest(
                symbol="BTCUSDT", side="Buy", order_type="Market", qty=Decimal("0.01"), order_link_id="sim-1"
            )
        )
        [pos] = await client.get_positions("BTCUSDT")
        assert pos.size == Decimal("0.01")
        assert pos.side == "Buy"
        [order] = await client.get_open_orders("BTCUSDT", order_link_id="sim-1")
        assert order.order_id == ack.order_id
        assert order.status == "Filled"
        execs = await client.get_executions_between(0, client.now_ms() + 60_000)
        assert [e.order_link_id for e in execs] == ["sim-1"]
        price = (book.bids[-1][0] * Decimal("0.9")) // inst.tick_size * inst.tick_size
        await client.create_order(
            OrderRequest(
                symbol="BTCUSDT",
                side="Buy",
                order_type="Limit",
                qty=Decimal("0.01"),
                price=price,
                order_link_id="sim-2",
            )
        )
        cancel = await client.cancel_order("BTCUSDT", order_link_id="sim-2")
        assert cancel.order_link_id == "sim-2"
        await client.create_order(
            OrderRequest(
                symbol="BTCUSDT",
                side="Sell",
                order_type="Market",
                qty=Decimal("0.01"),
                order_link_id="sim-3",
                reduce_only=True,
            )
        )
        assert len(await client.get_closed_pnl("BTCUSDT")) >= 1


async def test_wrong_signature_is_rejected(sim: Any) -> None:
    bad = Credentials(api_key="sim-key", api_secret="wrong")  # type: ignore[arg-type]
    async with BybitRestClient(cfg(sim), bad) as client:
        with pytest.raises(BybitApiError) as info:
            await client.get_wallet_balance()
    assert info.value.code is RetCode.SIGNATURE_ERROR


async def test_rate_limit_burst_backs_off_without_a_retry_storm(sim: Any) -> None:
    sim.faults.rate_limit_10006 = 3
    async with BybitRestClient(cfg(sim)) as client:
        await client.get_tickers("BTCUSDT")
        assert client.stats.retries == 3
        assert client.stats.requests == 4


async def test_lost_order_create_response_leaves_exactly_one_order(sim: Any) -> None:
    sim.faults.drop_order_create_responses = 1
    async with BybitRestClient(cfg(sim), CREDS) as client:
        ack = await client.create_order(
            OrderRequest(
                symbol="ETHUSDT", side="Buy", order_type="Market", qty=Decimal("0.1"), order_link_id="lost-1"
            )
        )
        assert client.stats.unknown_outcomes == 1
        execs = await client.get_executions_between(0, client.now_ms() + 60_000)
        assert {e.order_id for e in execs} == {ack.order_id}
        [pos] = await client.get_positions("ETHUSDT")
        assert pos.size == Decimal("0.1")


async def test_public_and_private_topics_flow_and_survive_faults(sim: Any) -> None:
    sink = ListSink()
    config = cfg(sim)
    async with BybitRestClient(config, CREDS) as client, trio.open_nursery() as nursery:
        public = PublicSession(config, ["BTCUSDT", "ETHUSDT"], sink, client)
        private = PrivateSession(config, CREDS, sink, client)
        await nursery.start(public.run)
        await nursery.start(private.run)
        with trio.fail_after(10):
            await public.wait_ready()
            await private.wait_ready()
        await eventually_async(
            lambda: all(sink.of(k) for k in (BookSnapshot, KlineUpdate, PublicTrade, TickerUpdate))
        )
        await client.create_order(
            OrderRequest(
                symbol="BTCUSDT", side="Buy", order_type="Market", qty=Decimal("0.01"), order_link_id="ws-1"
            )
        )
        await eventually_async(
            lambda: all(sink.of(k) for k in (OrderUpdate, ExecutionReport, PositionUpdate, WalletUpdate))
        )

        sim.faults.seq_gap = 1
        await eventually_async(lambda: public.stats.gaps >= 1 and public.stats.resyncs >= 1)
        sim.faults.duplicate = 5
        await eventually_async(lambda: public.stats.duplicates >= 1)
        before = public.stats.reconnects
        sim.drop_connections()
        await eventually_async(
            lambda: public.stats.reconnects > before and public.stats.connected and private.stats.connected
        )
        sim.faults.half_open = True
        await eventually_async(
            lambda: public.stats.silences >= 1 and public.stats.rest_fallbacks >= 1, timeout=8
        )
        sim.faults.half_open = False
        await eventually_async(lambda: public.stats.connected, timeout=8)
        assert public.stats.parse_errors == 0
        assert private.stats.parse_errors == 0
        nursery.cancel_scope.cancel()
