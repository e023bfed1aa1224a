"""The front door ``actors.reconciler`` exports exactly the pinned names, each resolving (STYLE §1)."""

from __future__ import annotations

import actors.reconciler
from tests.support.exports import assert_front_door

EXPECTED = [
    "Finding", "FindingSeverity", "FindingsAcknowledged", "GetReconciliationStatus", "LeasePort",
    "OpenFinding", "PassAbandonedError", "PassSnapshot", "PositionViewsPort", "ReconcileExchangePort",
    "ReconcileStorePort", "ReconcilerActor", "ReconcilerBehaviour", "ReconcilerConfig",
    "ReconcilerDeps", "ReconcilerError", "ReconcilerMessage", "ReconcilerMetrics",
    "ReconciliationEvent", "ReconciliationPublisher", "ReconciliationStatus", "Repair", "RunPass",
    "SymbolSnapshot", "classify", "is_own_link",
]  # fmt: skip


def test_the_front_door_exports_exactly_the_pinned_names() -> None:
    assert_front_door(actors.reconciler, EXPECTED)
