"""``PositionBehaviour``: the PositionActor's state machine, free of pykka (see ``actors.position.actor``).

``handle`` dispatches with one ``match`` over ``PositionMessage`` in sections: commands, exchange events,
decisions, risk verdicts, replies from the trio side, timers. Every I/O is a work-queue job whose result
comes back as ``StepDone(flow, step, result | error)``; ``flow`` names what it belongs to (a signal id while
a click is validated, a position id afterwards, ``"rebuild"``).

The position itself is a fold (``strategy_core.execution.Ledger``): order updates and executions change it
in any order and any number of times with the same result; a fill is applied only after its row is stored.

The flows live in their own modules, each a mixin over ``core.PositionCore`` (the shared state and moves):
``placement`` (the click, E-02/E-03/E-07), ``fills`` (E-04/E-05), ``protection`` (SL/TPs, R-05),
``closing`` (E-06, R-06), ``rebuild`` (a restart) and ``reconcile`` (the reconciler's repairs, C-02/C-03);
``state`` holds the in-memory records.
"""

from __future__ import annotations

from actors.host import unexpected
from actors.monitor.messages import MoveStopToEntry, ReduceOnlyCloseRequested
from actors.risk.messages import OrderAllowed, OrderDenied
from exchange.bybit import ExecutionReport, OrderUpdate, PositionUpdate, WalletUpdate
from strategy_core.execution import PositionStatus

from .closing import ClosingFlow
from .fills import FillsFlow
from .messages import (
    ClosePosition,
    FillWaitElapsed,
    GetPositions,
    PlaceOrderFromSignal,
    PollFills,
    PositionView,
    PrivateStreamResumed,
    RetryRebuild,
    RiskCheckDue,
    StepDone,
)
from .placement import PlacementFlow
from .protection import ProtectionFlow
from .rebuild import RebuildFlow
from .reconcile import RepairFlow
from .repairs import AdoptExchangeClose, CancelOrphanOrders, FlattenSymbol, RepairStepDone, Revalidate

__all__ = ["PositionBehaviour", "PositionMessage"]

PositionMessage = (
    PlaceOrderFromSignal
    | ClosePosition
    | GetPositions
    | OrderUpdate
    | ExecutionReport
    | PositionUpdate
    | WalletUpdate
    | PrivateStreamResumed
    | MoveStopToEntry
    | ReduceOnlyCloseRequested
    | OrderAllowed
    | OrderDenied
    | StepDone
    | FillWaitElapsed
    | PollFills
    | RetryRebuild
    | RiskCheckDue
    | Revalidate
    | AdoptExchangeClose
    | CancelOrphanOrders
    | FlattenSymbol
    | RepairStepDone
)
"""Every message the PositionActor handles: commands, exchange events, decisions, replies, timers, repairs."""


class PositionBehaviour(PlacementFlow, FillsFlow, ProtectionFlow, ClosingFlow, RebuildFlow, RepairFlow):
    """The PositionActor's state machine (see the module docstring): one dispatch over the flows."""

    def start(self) -> None:
        """Rebuild from PostgreSQL (then from the exchange) before accepting commands."""
        self._submit_rebuild(1)

    def stop(self) -> None:
        """Cancel timers; waiting clicks are answered by the gateway's timeout (a restart rebuilds)."""
        self._timers.close()

    def handle(self, message: PositionMessage) -> tuple[PositionView, ...] | None:  # noqa: PLR0912 - a case per type
        """Dispatch one message; ``GetPositions`` answers with the views.

        Raises:
            TypeError: ``message`` is not a ``PositionMessage``.
        """
        match message:
            # -- commands
            case (
                PlaceOrderFromSignal() | ClosePosition() | MoveStopToEntry() | ReduceOnlyCloseRequested()
            ) if not self.ready:
                self._buffer.append(message)
            case PlaceOrderFromSignal():
                self._place(message)
            case ClosePosition():
                self._close_command(message)
            case GetPositions():
                return tuple(self._view(p) for p in self._positions.values())
            # -- exchange events (private stream, or REST polls told as the same types)
            case OrderUpdate():
                self._on_order(message)
            case ExecutionReport():
                self._store_fills([message])
            case PositionUpdate():
                self._on_exchange_position(message)
            case WalletUpdate():
                pass
            case PrivateStreamResumed():
                for position in list(self._positions.values()):
                    self._poll(position)
            # -- decisions (monitor)
            case MoveStopToEntry():
                self._move_stop(message)
            case ReduceOnlyCloseRequested():
                self._start_close_by_id(message.position_id, "funding", None)
            # -- risk verdicts
            case OrderAllowed():
                self._on_allowed(message.order_id)
            case OrderDenied():
                self._on_denied(message)
            # -- replies from the trio side
            case StepDone():
                self._on_step(message)
            # -- timers
            case FillWaitElapsed() | PollFills():
                # One live timer per kind: every position still waiting for its entry is polled.
                for position in list(self._positions.values()):
                    if not position.entry_settled or position.status is PositionStatus.CLOSING:
                        self._poll(position)
            case RetryRebuild():
                self._submit_rebuild(message.attempt)
            case RiskCheckDue():
                self._risk_check_due()
            # -- repairs the ReconcilerActor asks for (C-02, C-03: actors.position.reconcile)
            case Revalidate() | AdoptExchangeClose() | CancelOrphanOrders() | FlattenSymbol():
                self._repair(message)
            case RepairStepDone():
                self._repair(message)
            case _:
                raise unexpected("PositionMessage", message)
        return None

    def _on_step(self, done: StepDone) -> None:  # noqa: PLR0912 - one branch per step kind
        kind = done.step.split(":", 1)[0]
        if done.flow == "write":
            if done.error is not None:
                self.log.warning("position write failed", what=done.step, error=repr(done.error))
            then, self._after_write = self._after_write, None
            if then is not None:
                then()
            self._next_write()
            return
        if done.flow == "rebuild":
            self._on_rebuild_step(done, kind)
            return
        if kind == "signal":
            self._on_signal_loaded(done)
            return
        if kind == "lookup":
            self._on_close_lookup(done)
            return
        position = self._positions.get(done.flow)
        if kind == "fills":
            self._on_fills_stored(done)
        elif position is None:
            self.log.info("step of an unknown flow ignored", flow=done.flow, step=done.step)
        elif kind == "intent":
            self._on_intent_stored(position, done)
        elif kind in {"entry", "send"}:
            self._on_entry_sent(position, done)
        elif kind == "poll":
            self._on_polled(position, done)
        elif kind == "protect":
            self._on_protected(position, done)
        elif kind == "close":
            self._on_close_sent(position, done)
        elif kind == "amend":
            self._on_amended(position, done)
        elif kind == "final":
            self._on_final(position, done)
