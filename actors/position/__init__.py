"""Position room: the PositionActor (``root/symbols/<SYM>/position``) — orders, fills, positions (E-02..E-07).

Other rooms import from here only. The pure domain (state tables, the fill fold, sizing, slippage) is
``strategy_core.execution``; the tables are ``storage.ExecutionRepository`` (``ExecutionStorePort``); the
exchange is ``exchange.bybit.BybitRestClient`` (``ExchangePort``).
"""

from __future__ import annotations

from actors.position.actor import PositionActor
from actors.position.behaviour import PositionBehaviour, PositionMessage
from actors.position.config import ExecutionConfig
from actors.position.deps import ExchangePort, ExecutionStorePort, PositionDeps, PositionPublisher
from actors.position.messages import (
    CloseOutcome,
    ClosePosition,
    CloseReason,
    CloseStatus,
    FillWaitElapsed,
    GetPositions,
    PlacementOutcome,
    PlacementStatus,
    PlaceOrderFromSignal,
    PollFills,
    PositionChanged,
    PositionView,
    PrivateStreamResumed,
    RetryRebuild,
    RiskCheckDue,
    StepDone,
)
from actors.position.metrics import ExecutionMetrics
from actors.position.repairs import (
    AdoptExchangeClose,
    CancelOrphanOrders,
    FlattenSymbol,
    RepairStepDone,
    Revalidate,
)

__all__ = [
    "AdoptExchangeClose",
    "CancelOrphanOrders",
    "CloseOutcome",
    "ClosePosition",
    "CloseReason",
    "CloseStatus",
    "ExchangePort",
    "ExecutionConfig",
    "ExecutionMetrics",
    "ExecutionStorePort",
    "FillWaitElapsed",
    "FlattenSymbol",
    "GetPositions",
    "PlaceOrderFromSignal",
    "PlacementOutcome",
    "PlacementStatus",
    "PollFills",
    "PositionActor",
    "PositionBehaviour",
    "PositionChanged",
    "PositionDeps",
    "PositionMessage",
    "PositionPublisher",
    "PositionView",
    "PrivateStreamResumed",
    "RepairStepDone",
    "RetryRebuild",
    "Revalidate",
    "RiskCheckDue",
    "StepDone",
]
