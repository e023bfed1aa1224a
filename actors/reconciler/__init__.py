"""Reconciler room: the ReconcilerActor (``root/reconciler``), our state converging to the exchange's.

C-01..C-04.

Other rooms import from here only. The rules are pure (``rules.classify``); the read of a pass runs on the
trio side (``collect.read_pass``); the reads and fenced writes are ``storage.ReconciliationRepository``
(``ReconcileStorePort``), the lock ``storage.RedisLock`` (``LeasePort``), the exchange
``exchange.bybit.BybitRestClient`` (``ReconcileExchangePort``).
"""

from __future__ import annotations

from actors.reconciler.actor import ReconcilerActor
from actors.reconciler.behaviour import ReconcilerBehaviour, ReconcilerMessage
from actors.reconciler.config import ReconcilerConfig
from actors.reconciler.deps import (
    LeasePort,
    PositionViewsPort,
    ReconcileExchangePort,
    ReconcilerDeps,
    ReconcileStorePort,
    ReconciliationPublisher,
)
from actors.reconciler.errors import PassAbandonedError, ReconcilerError
from actors.reconciler.messages import (
    FindingsAcknowledged,
    GetReconciliationStatus,
    OpenFinding,
    ReconciliationEvent,
    ReconciliationStatus,
    RunPass,
)
from actors.reconciler.metrics import ReconcilerMetrics
from actors.reconciler.rules import Finding, FindingSeverity, Repair, classify, is_own_link
from actors.reconciler.snapshot import PassSnapshot, SymbolSnapshot

__all__ = [
    "Finding",
    "FindingSeverity",
    "FindingsAcknowledged",
    "GetReconciliationStatus",
    "LeasePort",
    "OpenFinding",
    "PassAbandonedError",
    "PassSnapshot",
    "PositionViewsPort",
    "ReconcileExchangePort",
    "ReconcileStorePort",
    "ReconcilerActor",
    "ReconcilerBehaviour",
    "ReconcilerConfig",
    "ReconcilerDeps",
    "ReconcilerError",
    "ReconcilerMessage",
    "ReconcilerMetrics",
    "ReconciliationEvent",
    "ReconciliationPublisher",
    "ReconciliationStatus",
    "Repair",
    "RunPass",
    "SymbolSnapshot",
    "classify",
    "is_own_link",
]
