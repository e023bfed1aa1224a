"""The ``actors`` front door exports exactly what other rooms use, and every name resolves (STYLE §1)."""

from __future__ import annotations

import actors
from tests.support.exports import assert_front_door

EXPECTED = [
    "DEFAULT_INSTRUMENT",
    "ActorsError", "BackfillReport", "BehaviourActor", "BookLogged", "CandleBatchStore", "CandleConfirmed",
    "CandleStoreFailed", "CandleStored", "CheckSignal", "DevConfig", "EngineError", "ExecutionConfig",
    "FeedBehaviour", "FeedConfig", "FeedStatusReport", "GetFeedStatus", "GetSignalStats",
    "HistoryLoadFailed", "HistoryLoaded", "IndicatorConfig", "IndicatorsComputed", "LazySink", "MONITOR",
    "MONITOR_NAME",
    "RECONCILER", "RECONCILER_NAME",
    "MarketStore", "MessageSink", "PipelineConfig", "PositionDecisionSink", "PrivateRouter",
    "PrivateStreamResumed", "RISK", "RISK_NAME", "ROOT",
    "RefResolver", "RoutingError", "SYMBOLS", "SignalAllowed", "SignalConfig", "SignalDenied",
    "SignalGenerated", "SignalPublisher", "SignalQueued", "SignalStats", "SignalStoreFailed",
    "SignalStored", "SnapshotFailed", "SnapshotFetched", "SnapshotRequested", "SupervisorConfig",
    "ThetaMapChanged",
    "SymbolDeps", "SymbolRouter", "SymbolUnavailableError", "SymbolsController", "TradingInputs",
    "TrioWorkPort", "WorkQueue", "WorkRejectedError", "backfill", "feed_path", "position_path", "signal_path",
    "symbol_path", "symbols_spec",
    # gap repair and stored streams (D-02, P-06)
    "BarHistory", "BarMissing", "MarketMetrics", "StreamRecorder", "StreamStore", "StreamsConfig", "TeeSink",
    "GetIndicatorReport", "IndicatorReport",
    "RestBarHistory",
]  # fmt: skip


def test_the_front_door_exports_exactly_the_pinned_names() -> None:
    assert_front_door(actors, EXPECTED)
