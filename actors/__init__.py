"""Domain actors: per-symbol feed → indicator → signal trees and their message types (DESIGN §1–4).

Other rooms import from here only. The risk actor lives in ``actors.risk`` (its own front door).
"""

from __future__ import annotations

from actors.deps import (
    LazySink,
    RefResolver,
    SymbolDeps,
    TrioWorkPort,
    sibling_path,
)
from actors.errors import (
    ActorsError,
    EngineError,
    RoutingError,
    WorkRejectedError,
)
from actors.feed import (
    FeedBehaviour,
    FeedConfig,
    FeedStats,
)
from actors.indicator import (
    IndicatorBehaviour,
    IndicatorConfig,
    IndicatorPhase,
    IndicatorStats,
)
from actors.messages import (
    BookLogged,
    CandleConfirmed,
    CandleStored,
    CandleStoreFailed,
    CheckSignal,
    FeedStatusReport,
    GetFeedStatus,
    GetSignalStats,
    HistoryLoaded,
    HistoryLoadFailed,
    IndicatorsComputed,
    MessageSink,
    RiskVerdict,
    SignalAllowed,
    SignalDenied,
    SignalGenerated,
    SignalQueued,
    SignalStored,
    SignalStoreFailed,
    SnapshotFailed,
    SnapshotFetched,
    SnapshotRequested,
)
from actors.ports import (
    Job,
    MarketStore,
    RiskGate,
    SignalPublisher,
    SignalStatus,
    SnapshotSource,
    WorkQueue,
)
from actors.routing import (
    RouterStats,
    SymbolRouter,
)
from actors.signal import (
    PendingSignal,
    SignalBehaviour,
    SignalConfig,
    SignalStats,
)
from actors.supervised import (
    FeedActor,
    IndicatorActor,
    SignalActor,
)
from actors.symbols import (
    SYMBOLS_PATH,
    PipelineConfig,
    SymbolsController,
    symbol_spec,
    symbols_spec,
)
from actors.warmup import BackfillReport, CandleBatchStore, KlineSource, backfill

__all__ = [
    "SYMBOLS_PATH",
    "ActorsError",
    "BackfillReport",
    "BookLogged",
    "CandleBatchStore",
    "CandleConfirmed",
    "CandleStoreFailed",
    "CandleStored",
    "CheckSignal",
    "EngineError",
    "FeedActor",
    "FeedBehaviour",
    "FeedConfig",
    "FeedStats",
    "FeedStatusReport",
    "GetFeedStatus",
    "GetSignalStats",
    "HistoryLoadFailed",
    "HistoryLoaded",
    "IndicatorActor",
    "IndicatorBehaviour",
    "IndicatorConfig",
    "IndicatorPhase",
    "IndicatorStats",
    "IndicatorsComputed",
    "Job",
    "KlineSource",
    "LazySink",
    "MarketStore",
    "MessageSink",
    "PendingSignal",
    "PipelineConfig",
    "RefResolver",
    "RiskGate",
    "RiskVerdict",
    "RouterStats",
    "RoutingError",
    "SignalActor",
    "SignalAllowed",
    "SignalBehaviour",
    "SignalConfig",
    "SignalDenied",
    "SignalGenerated",
    "SignalPublisher",
    "SignalQueued",
    "SignalStats",
    "SignalStatus",
    "SignalStoreFailed",
    "SignalStored",
    "SnapshotFailed",
    "SnapshotFetched",
    "SnapshotRequested",
    "SnapshotSource",
    "SymbolDeps",
    "SymbolRouter",
    "SymbolsController",
    "TrioWorkPort",
    "WorkQueue",
    "WorkRejectedError",
    "backfill",
    "sibling_path",
    "symbol_spec",
    "symbols_spec",
]
