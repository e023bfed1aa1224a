"""PositionActor (path ``root/symbols/<SYM>/position``): the one writer of a symbol's orders and positions.

A click (``PlaceOrderFromSignal``) becomes exactly one entry order (E-02): the signal must exist, be ``new``
and within ``order_grace_seconds``; the RiskActor approves (fail closed); the intent with its deterministic
``orderLinkId`` is committed to PostgreSQL before the IOC limit order is sent; an unknown outcome is settled
by looking the ``orderLinkId`` up, never by sending again. Fills come from the private stream (or REST
polling after ``fill_wait_seconds``) and are stored once by exec id before anything acknowledges them; the
entry is classified (E-03) and protected by a reduce-only conditional stop and reduce-only TP limits sized
from the fill. ``MoveStopToEntry`` (R-05) amends the stop; ``ReduceOnlyCloseRequested`` (R-06) and
``ClosePosition`` (E-06) cancel the protective orders and close reduce-only IOC until flat; the PnL is the
exchange's closed-PnL figure, fees and funding apart.

On start the behaviour rebuilds from PostgreSQL, then from the exchange (orders, executions since the last
stored) — through work-queue jobs whose results come back as messages. Until the rebuild is done, commands
wait in a buffer.

The state machine is ``PositionBehaviour`` (module ``behaviour``); tunables ``ExecutionConfig`` (``config``),
ports ``PositionDeps`` (``deps``); this module is the supervised host.
"""

from __future__ import annotations

from actors.config import TradingInputs
from actors.host import BehaviourActor

from .behaviour import PositionBehaviour, PositionMessage
from .config import ExecutionConfig
from .deps import PositionDeps

__all__ = ["PositionActor"]


class PositionActor(BehaviourActor[PositionMessage]):
    """Supervised host of ``PositionBehaviour`` for one symbol; state is rebuilt on every start."""

    def __init__(
        self, symbol: str, config: ExecutionConfig, inputs: TradingInputs, deps: PositionDeps
    ) -> None:
        super().__init__()
        self._symbol, self._config, self._inputs, self._deps = symbol, config, inputs, deps

    def build(self) -> PositionBehaviour:
        """Return a fresh behaviour; its ``start`` submits the rebuild."""
        return PositionBehaviour(
            symbol=self._symbol,
            config=self._config,
            inputs=self._inputs,
            deps=self._deps,
            clock=self.clock,
            self_ref=self.self_ref,
            log=self.log,
        )
