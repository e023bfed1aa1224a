"""The front door ``actors.position`` exports exactly the pinned names, each resolving (STYLE §1)."""

from __future__ import annotations

import actors.position
from tests.support.exports import assert_front_door

EXPECTED = [
    "AdoptExchangeClose", "CancelOrphanOrders", "FlattenSymbol",
    "CloseOutcome", "ClosePosition", "CloseReason", "CloseStatus", "ExchangePort", "ExecutionConfig",
    "ExecutionMetrics",
    "ExecutionStorePort", "FillWaitElapsed", "GetPositions", "PlaceOrderFromSignal", "PlacementOutcome",
    "PlacementStatus", "PollFills", "PositionActor", "PositionBehaviour", "PositionChanged",
    "PositionDeps", "PositionMessage", "PositionPublisher", "PositionView", "PrivateStreamResumed",
    "RepairStepDone", "RetryRebuild", "Revalidate", "RiskCheckDue", "StepDone",
]  # fmt: skip


def test_the_front_door_exports_exactly_the_pinned_names() -> None:
    assert_front_door(actors.position, EXPECTED)
