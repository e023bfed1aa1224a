"""The per-symbol trees: ``root/symbols/<SYM>/position|signal|indicator|feed`` (P-08, E-02).

* ``symbol_spec`` builds one ``SymbolSupervisor`` (a ``SupervisorSpec`` named after the symbol), strategy
  ``one_for_one`` (justified in docs/architecture.md), its restart policy from ``PipelineConfig``.
  Children are listed *downstream first* —
  position, signal, indicator, feed — so each actor's consumer exists before it produces, and the
  reverse-order stop stops the feed first (no bar is pushed into a stopping indicator). The position child
  (the symbol's one order writer) exists when ``deps.positions`` and an ``ExecutionConfig`` are given; it is
  started first so a click can never reach a symbol whose order writer is missing, and stopped last.
* ``symbols_spec`` builds the ``symbols`` supervisor holding one ``SymbolSupervisor`` per configured symbol.
* ``SymbolsController`` adds and removes symbol trees at run time from the trio thread (config changes),
  keeping the event router in step.
"""

from __future__ import annotations

from collections.abc import Iterable

import structlog

from actors.config import PipelineConfig, TradingInputs
from actors.deps import SymbolDeps
from actors.feed import FeedActor
from actors.indicator import IndicatorActor
from actors.paths import FEED, INDICATOR, POSITION, SIGNAL, SYMBOLS, SYMBOLS_NAME, symbol_path
from actors.position import ExecutionConfig, PositionActor
from actors.routing import SymbolRouter
from actors.signal import SignalActor
from supervision import ChildSpec, Strategy, SupervisionTree, SupervisorSpec, TrioBridge

__all__ = ["SymbolsController", "symbol_spec", "symbols_spec"]

log = structlog.get_logger(__name__)


def symbol_spec(
    symbol: str,
    config: PipelineConfig,
    inputs: TradingInputs,
    deps: SymbolDeps,
    execution: ExecutionConfig | None = None,
) -> SupervisorSpec:
    """Return the ``SymbolSupervisor`` of ``symbol``: [position,] signal, indicator, feed, one_for_one."""
    policy = config.symbol_supervisor
    position: tuple[ChildSpec, ...] = ()
    positions = deps.positions
    if positions is not None and execution is not None:
        position = (
            ChildSpec(
                POSITION, lambda: PositionActor.start(symbol, execution, inputs, positions), kind="position"
            ),
        )
    return SupervisorSpec(
        name=symbol,
        kind="symbol",
        strategy=Strategy.ONE_FOR_ONE,
        intensity=policy.intensity,
        backoff=policy.backoff,
        children=(
            *position,
            ChildSpec(SIGNAL, lambda: SignalActor.start(symbol, config.signal, inputs, deps), kind="signal"),
            ChildSpec(
                INDICATOR,
                lambda: IndicatorActor.start(symbol, config.indicator, inputs, deps),
                kind="indicator",
            ),
            ChildSpec(FEED, lambda: FeedActor.start(symbol, config.feed, inputs, deps), kind="feed"),
        ),
    )


def symbols_spec(
    symbols: Iterable[str],
    config: PipelineConfig,
    inputs: TradingInputs,
    deps: SymbolDeps,
    execution: ExecutionConfig | None = None,
) -> SupervisorSpec:
    """Return the ``symbols`` supervisor spec with one symbol tree per symbol (``one_for_one``)."""
    policy = config.symbols_supervisor
    return SupervisorSpec(
        name=SYMBOLS_NAME,
        kind="symbols",
        strategy=Strategy.ONE_FOR_ONE,
        intensity=policy.intensity,
        backoff=policy.backoff,
        children=tuple(symbol_spec(s, config, inputs, deps, execution) for s in symbols),
    )


class SymbolsController:
    """Add and remove symbol trees at run time, from the trio thread, keeping the router in step."""

    def __init__(  # noqa: PLR0917 - the tree, its bridge and what a symbol tree is built from
        self,
        tree: SupervisionTree,
        bridge: TrioBridge,
        config: PipelineConfig,
        inputs: TradingInputs,
        deps: SymbolDeps,
        router: SymbolRouter,
        *,
        timeout_s: float = 10.0,
        execution: ExecutionConfig | None = None,
    ) -> None:
        self._tree = tree
        self._bridge = bridge
        self._config = config
        self._inputs = inputs
        self._deps = deps
        self._router = router
        self._timeout = timeout_s
        self._execution = execution

    @property
    def symbols(self) -> frozenset[str]:
        """Return the symbols currently routed."""
        return self._router.symbols

    async def add(self, symbol: str) -> None:
        """Start ``root/symbols/<symbol>`` and route its events."""
        spec = symbol_spec(symbol, self._config, self._inputs, self._deps, self._execution)
        await self._bridge.add_child(self._tree, SYMBOLS, spec, timeout=self._timeout)
        # The symbol supervisor starts its children asynchronously: route once they are up.
        await self._bridge.wait_settled(self._tree, timeout=self._timeout)
        self._router.add(symbol)
        log.info("symbol added", symbol=symbol)

    async def remove(self, symbol: str) -> None:
        """Stop routing ``symbol`` and stop its tree."""
        self._router.remove(symbol)
        await self._bridge.remove_child(self._tree, symbol_path(symbol), timeout=self._timeout)
        log.info("symbol removed", symbol=symbol)

    async def apply(self, symbols: Iterable[str]) -> None:
        """Make the running symbol trees match ``symbols`` (the whitelist from config, P-08)."""
        wanted = list(dict.fromkeys(symbols))
        for symbol in sorted(self.symbols - set(wanted)):
            await self.remove(symbol)
        for symbol in wanted:
            if symbol not in self.symbols:
                await self.add(symbol)
