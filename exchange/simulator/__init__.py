"""A Bybit-v5-compatible exchange on loopback for simulation mode, demos and tests (DESIGN §6).

async with open_simulator(SimulatorConfig(speed=600)) as sim:
    sim.add_account("key", "secret", balance=Decimal("10000"))
    ... sim.rest_url, sim.ws_public_url, sim.ws_private_url, sim.faults, sim.clock, sim.market("BTCUSDT")
"""

from __future__ import annotations

from exchange.simulator.accounts import Account, Execution, Order, Position
from exchange.simulator.clock import SimClock
from exchange.simulator.config import MAX_HISTORY_BARS, SimulatorConfig
from exchange.simulator.errors import (
    BybitRejection,
    SimulatorConfigError,
    SimulatorError,
    SimulatorStateError,
)
from exchange.simulator.faults import Faults
from exchange.simulator.instruments import DEFAULT_SYMBOLS, INSTRUMENTS, SymbolSpec
from exchange.simulator.market import Market
from exchange.simulator.server import Simulator, open_simulator

__all__ = [
    "DEFAULT_SYMBOLS",
    "INSTRUMENTS",
    "MAX_HISTORY_BARS",
    "Account",
    "BybitRejection",
    "Execution",
    "Faults",
    "Market",
    "Order",
    "Position",
    "SimClock",
    "Simulator",
    "SimulatorConfig",
    "SimulatorConfigError",
    "SimulatorError",
    "SimulatorStateError",
    "SymbolSpec",
    "open_simulator",
]
