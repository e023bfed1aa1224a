"""``PositionBehaviour``: the PositionActor's state machine, free of pykka (see ``actors.position.actor``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from actors.config import TradingInputs
from actors.host import unexpected
from actors.messages import MessageSink
from actors.monitor.messages import MoveStopToEntry, ReduceOnlyCloseRequested
from actors.risk.messages import OrderAllowed, OrderDenied
from exchange.bybit import ExecutionReport, OrderUpdate, PositionUpdate, WalletUpdate
from supervision.clock import Clock

from .config import ExecutionConfig
from .deps import PositionDeps
from .messages import (
    ClosePosition,
    FillWaitElapsed,
    GetPositions,
    PlaceOrderFromSignal,
    PollFills,
    PositionView,
    PrivateStreamResumed,
    RetryRebuild,
    StepDone,
)

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
)
"""Every message the PositionActor handles: commands, exchange events, decisions, replies, timers."""


@dataclass
class PositionBehaviour:
    """The PositionActor's state machine (placeholder while the contract lands)."""

    symbol: str
    config: ExecutionConfig
    inputs: TradingInputs
    deps: PositionDeps
    clock: Clock
    self_ref: MessageSink
    log: Any

    def start(self) -> None:
        """Submit the rebuild."""

    def stop(self) -> None:
        """Cancel timers."""

    def handle(self, message: PositionMessage) -> tuple[PositionView, ...] | None:
        """Dispatch one message."""
        match message:
            case GetPositions():
                return ()
            case _:
                raise unexpected("PositionMessage", message)
