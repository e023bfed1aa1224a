"""Instrument rules at start (E-02): a symbol without the exchange's real rules is unavailable for orders.

No tick size or quantity step is guessed for orders: ``TradingInputs.order_rules`` raises
``SymbolUnavailableError`` with the reason the engine recorded, while signals keep the default grid.

The refusing exchange is a simulator started by the test (so its fault knobs are set before the engine's
first call) and the engine runs in paper mode against it, with the account's key pair from the exchange
settings — the credentials path of paper/live.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from decimal import Decimal

import pytest

from actors import PipelineConfig, SymbolUnavailableError
from algogrid.engine import Engine, instrument_rules
from algogrid.settings import Settings
from exchange import BybitRestClient, ExchangeConfig
from exchange.config import Credentials
from exchange.simulator import Simulator, SimulatorConfig, open_simulator
from exchange.simulator.instruments import INSTRUMENTS

RunEngine = Callable[..., AbstractAsyncContextManager[Engine]]  # the ``run_engine`` fixture (conftest)


def _paper_settings(sim: Simulator, symbols: tuple[str, ...]) -> Settings:
    sim.add_account("paper-key", "paper-secret", Decimal("5000"))
    exchange = ExchangeConfig(
        rest_url=sim.rest_url,
        ws_public_url=sim.ws_public_url,
        ws_private_url=sim.ws_private_url,
        max_attempts=2,
        retry_backoff_min_s=0.05,
        retry_backoff_max_s=0.1,
        credentials=Credentials(api_key="paper-key", api_secret="paper-secret"),
    )
    return Settings(
        mode="paper", symbols=symbols, exchange=exchange, pipeline=PipelineConfig(backfill_bars=20),
        auth={"jwt_secret": "paper-mode-signing-secret-of-32-bytes-or-more"},  # paper refuses a missing one
    )


async def test_instrument_rules_refused_at_start_make_the_symbol_unavailable_for_orders(
    run_engine: RunEngine,
) -> None:
    config = SimulatorConfig(symbols=("BTCUSDT",), speed=60.0, book_interval_ms=50, history_bars=40)
    async with open_simulator(config) as sim:
        sim.faults.update({"http_5xx": 1000, "rest_path_prefix": "/v5/market/instruments-info"})
        async with run_engine(_paper_settings(sim, ("BTCUSDT",))) as engine:
            inputs = engine.inputs
            assert inputs is not None
            assert inputs.instruments == {}
            assert "could not be loaded at start" in inputs.unavailable["BTCUSDT"]
            with pytest.raises(SymbolUnavailableError) as raised:
                inputs.order_rules("BTCUSDT")
            assert raised.value.symbol == "BTCUSDT"
            assert raised.value.reason == inputs.unavailable["BTCUSDT"]
            assert inputs.instrument("BTCUSDT") == inputs.default_instrument  # signals: as before
            # paper mode with the key pair from the exchange settings: the private stream is up
            assert (await engine.view.readiness())["exchange_private"] is None
        assert sim.faults.http_5xx > 0  # the knob was reached (and is not what ended the run)


async def test_the_engine_takes_the_real_rules_when_the_exchange_gives_them(run_engine: RunEngine) -> None:
    config = SimulatorConfig(symbols=("BTCUSDT",), speed=60.0, book_interval_ms=50, history_bars=40)
    async with open_simulator(config) as sim, run_engine(_paper_settings(sim, ("BTCUSDT",))) as engine:
        assert engine.inputs is not None
        assert engine.inputs.unavailable == {}
        rules = engine.inputs.order_rules("BTCUSDT")
        listed = INSTRUMENTS["BTCUSDT"]
        assert (rules.tick_size, rules.qty_step, rules.min_qty) == (
            listed.tick_size,
            listed.qty_step,
            listed.min_qty,
        )


async def test_a_symbol_missing_from_instruments_info_is_unavailable_with_its_reason() -> None:
    async with (
        open_simulator(SimulatorConfig(symbols=("BTCUSDT",), history_bars=5)) as sim,
        BybitRestClient(ExchangeConfig(rest_url=sim.rest_url)) as rest,
    ):
        loaded = await instrument_rules(rest, ("BTCUSDT", "ETHUSDT"))
    assert set(loaded.rules) == {"BTCUSDT"}
    assert loaded.unavailable == {"ETHUSDT": "not listed in the exchange's instruments-info at start"}
    assert loaded.min_notional_usd == {"BTCUSDT": INSTRUMENTS["BTCUSDT"].min_notional}
