"""Domain actors: per-symbol feed → indicator → signal trees, their messages, config and paths (DESIGN §1–4).

Other rooms import from here only. The risk and monitor actors are rooms of their own (``actors.risk``,
``actors.monitor``). Every message type of the pipeline is exported: the fault-injection API names them
(``crash_on_next``). Implementation modules: ``host`` (``BehaviourActor``), ``feed``, ``indicator``,
``signal`` (behaviour + actor each), ``sequencer`` (the feed's ordered bars and holes, D-02), ``recorder``
(trades, tickers and funding to storage, P-06), ``market_metrics``, ``symbols`` (specs), ``routing``,
``warmup``, ``deps``, ``ports``, ``config``, ``paths``, ``timers``.
"""

from __future__ import annotations

from actors.config import (
    DEFAULT_INSTRUMENT,
    DevConfig,
    FeedConfig,
    IndicatorConfig,
    PipelineConfig,
    SignalConfig,
    StreamsConfig,
    SupervisorConfig,
    TradingInputs,
)
from actors.deps import LazySink, RefResolver, SymbolDeps, TrioWorkPort
from actors.errors import ActorsError, EngineError, RoutingError, SymbolUnavailableError, WorkRejectedError
from actors.feed import FeedBehaviour
from actors.host import BehaviourActor
from actors.market_metrics import MarketMetrics
from actors.messages import (
    BarMissing,
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
    PrivateStreamResumed,
    SignalAllowed,
    SignalDenied,
    SignalGenerated,
    SignalQueued,
    SignalStats,
    SignalStored,
    SignalStoreFailed,
    SnapshotFailed,
    SnapshotFetched,
    SnapshotRequested,
)
from actors.paths import (
    MONITOR,
    MONITOR_NAME,
    RISK,
    RISK_NAME,
    ROOT,
    SYMBOLS,
    feed_path,
    position_path,
    signal_path,
    symbol_path,
)
from actors.ports import BarHistory, MarketStore, SignalPublisher, StreamStore, WorkQueue
from actors.position.config import ExecutionConfig
from actors.recorder import StreamRecorder, TeeSink
from actors.routing import PositionDecisionSink, PrivateRouter, SymbolRouter
from actors.symbols import SymbolsController, symbols_spec
from actors.warmup import BackfillReport, CandleBatchStore, RestBarHistory, backfill

__all__ = [
    "RestBarHistory",
    "DEFAULT_INSTRUMENT",
    "MONITOR",
    "MONITOR_NAME",
    "RISK",
    "RISK_NAME",
    "ROOT",
    "SYMBOLS",
    "ActorsError",
    "BackfillReport",
    "BarHistory",
    "BarMissing",
    "BehaviourActor",
    "BookLogged",
    "CandleBatchStore",
    "CandleConfirmed",
    "CandleStoreFailed",
    "CandleStored",
    "CheckSignal",
    "DevConfig",
    "EngineError",
    "ExecutionConfig",
    "FeedBehaviour",
    "FeedConfig",
    "FeedStatusReport",
    "GetFeedStatus",
    "GetSignalStats",
    "HistoryLoadFailed",
    "HistoryLoaded",
    "IndicatorConfig",
    "IndicatorsComputed",
    "LazySink",
    "MarketMetrics",
    "MarketStore",
    "MessageSink",
    "PipelineConfig",
    "PositionDecisionSink",
    "PrivateRouter",
    "PrivateStreamResumed",
    "RefResolver",
    "RoutingError",
    "SignalAllowed",
    "SignalConfig",
    "SignalDenied",
    "SignalGenerated",
    "SignalPublisher",
    "SignalQueued",
    "SignalStats",
    "SignalStoreFailed",
    "SignalStored",
    "SnapshotFailed",
    "SnapshotFetched",
    "SnapshotRequested",
    "StreamRecorder",
    "StreamStore",
    "StreamsConfig",
    "SupervisorConfig",
    "SymbolDeps",
    "SymbolRouter",
    "SymbolUnavailableError",
    "SymbolsController",
    "TeeSink",
    "TradingInputs",
    "TrioWorkPort",
    "WorkQueue",
    "WorkRejectedError",
    "backfill",
    "feed_path",
    "position_path",
    "signal_path",
    "symbol_path",
    "symbols_spec",
]
