"""The per-symbol trees: ``root/symbols/<SYM>/feed|indicator|signal`` (issue 5 item 4, P-08).

* ``symbol_spec`` builds one ``SymbolSupervisor`` (a ``SupervisorSpec`` named after the symbol), strategy
  ``one_for_one`` (justified in docs/architecture.md). Children are listed *downstream first* —
  signal, indicator, feed — so each actor's consumer exists before it produces, and the reverse-order stop
  stops the feed first (no bar is pushed into a stopping indicator).
* ``symbols_spec`` builds the ``symbols`` supervisor holding one ``SymbolSupervisor`` per configured symbol.
* ``SymbolsController`` adds and removes symbol trees at run time from the trio thread (config changes),
  keeping the event router in step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import structlog

from actors.deps import SymbolDeps
from actors.feed import FeedConfig
from actors.indicator import IndicatorConfig
from actors.routing import SymbolRouter
from actors.signal import SignalConfig
from actors.supervised import FeedActor, IndicatorActor, SignalActor
from strategy_core import AVI5Config, CalibrationStats, InstrumentRules, ThetaMap
from supervision import Backoff, ChildSpec, Intensity, Strategy, SupervisionTree, SupervisorSpec, TrioBridge

__all__ = ["SYMBOLS_PATH", "PipelineConfig", "SymbolsController", "symbol_spec", "symbols_spec"]

log = structlog.get_logger(__name__)

SYMBOLS_PATH = "root/symbols"


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineConfig:
    """Everything the per-symbol trees need, shared by all symbols (instrument rules are per symbol)."""

    strategy: AVI5Config = field(default_factory=AVI5Config)
    instruments: Mapping[str, InstrumentRules] = field(default_factory=dict)
    default_instrument: InstrumentRules = field(
        default_factory=lambda: InstrumentRules(
            tick_size=Decimal("0.01"), qty_step=Decimal("0.001"), min_qty=Decimal("0.001")
        )
    )
    theta_map: ThetaMap = field(default_factory=ThetaMap)
    calibration: CalibrationStats | None = None
    history: int = 200
    research_mode: bool = False
    symbol_intensity: Intensity = field(
        default_factory=lambda: Intensity(max_restarts=20, within_seconds=60.0)
    )
    symbols_intensity: Intensity = field(
        default_factory=lambda: Intensity(max_restarts=50, within_seconds=60.0)
    )
    backoff: Backoff = field(default_factory=lambda: Backoff(min_s=0.05, max_s=2.0, jitter=0.2))

    def instrument(self, symbol: str) -> InstrumentRules:
        """Return the instrument rules of ``symbol`` (the default grid when the exchange gave none)."""
        return self.instruments.get(symbol, self.default_instrument)


def symbol_spec(symbol: str, config: PipelineConfig, deps: SymbolDeps) -> SupervisorSpec:
    """Return the ``SymbolSupervisor`` spec of ``symbol``: signal, indicator, feed under ``one_for_one``."""
    feed = FeedConfig(
        symbol=symbol, research_mode=config.research_mode, book_levels=config.strategy.book_levels
    )
    indicator = IndicatorConfig(symbol=symbol, strategy=config.strategy, history=config.history)
    signal = SignalConfig(
        symbol=symbol,
        strategy=config.strategy,
        instrument=config.instrument(symbol),
        theta_map=config.theta_map,
        calibration=config.calibration,
    )
    return SupervisorSpec(
        name=symbol,
        kind="symbol",
        strategy=Strategy.ONE_FOR_ONE,
        intensity=config.symbol_intensity,
        backoff=config.backoff,
        children=(
            ChildSpec("signal", lambda: SignalActor.start(signal, deps), kind="signal"),
            ChildSpec("indicator", lambda: IndicatorActor.start(indicator, deps), kind="indicator"),
            ChildSpec("feed", lambda: FeedActor.start(feed, deps), kind="feed"),
        ),
    )


def symbols_spec(symbols: Iterable[str], config: PipelineConfig, deps: SymbolDeps) -> SupervisorSpec:
    """Return the ``symbols`` supervisor spec with one symbol tree per symbol (``one_for_one``)."""
    return SupervisorSpec(
        name="symbols",
        kind="symbols",
        strategy=Strategy.ONE_FOR_ONE,
        intensity=config.symbols_intensity,
        backoff=config.backoff,
        children=tuple(symbol_spec(s, config, deps) for s in symbols),
    )


class SymbolsController:
    """Add and remove symbol trees at run time, from the trio thread, keeping the router in step."""

    def __init__(
        self,
        tree: SupervisionTree,
        bridge: TrioBridge,
        config: PipelineConfig,
        deps: SymbolDeps,
        router: SymbolRouter,
        *,
        timeout_s: float = 10.0,
    ) -> None:
        self._tree = tree
        self._bridge = bridge
        self._config = config
        self._deps = deps
        self._router = router
        self._timeout = timeout_s

    @property
    def symbols(self) -> frozenset[str]:
        """Return the symbols currently routed."""
        return self._router.symbols

    async def add(self, symbol: str) -> None:
        """Start ``root/symbols/<symbol>`` and route its events."""
        spec = symbol_spec(symbol, self._config, self._deps)
        await self._bridge.add_child(self._tree, SYMBOLS_PATH, spec, timeout=self._timeout)
        # The symbol supervisor starts its children asynchronously: route once they are up.
        await self._bridge.wait_settled(self._tree, timeout=self._timeout)
        self._router.add(symbol)
        log.info("symbol added", symbol=symbol)

    async def remove(self, symbol: str) -> None:
        """Stop routing ``symbol`` and stop its tree."""
        self._router.remove(symbol)
        await self._bridge.remove_child(self._tree, f"{SYMBOLS_PATH}/{symbol}", timeout=self._timeout)
        log.info("symbol removed", symbol=symbol)

    async def apply(self, symbols: Iterable[str]) -> None:
        """Make the running symbol trees match ``symbols`` (the whitelist from config, P-08)."""
        wanted = list(dict.fromkeys(symbols))
        for symbol in sorted(self.symbols - set(wanted)):
            await self.remove(symbol)
        for symbol in wanted:
            if symbol not in self.symbols:
                await self.add(symbol)
