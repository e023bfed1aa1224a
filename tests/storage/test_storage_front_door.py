"""The storage front door exports exactly its public names, and each exists (STYLE §1)."""

from __future__ import annotations

import storage

EXPECTED = {
    "AioBridge",
    "CandleLike",
    "Connection",
    "Database",
    "EmbeddedPostgres",
    "EmbeddedRedis",
    "EmbeddedServerError",
    "FencedWriteRejectedError",
    "IntegrityViolationError",
    "KlineRepository",
    "Lease",
    "LockError",
    "LockLostError",
    "LockNotAcquiredError",
    "RedisClient",
    "RedisLock",
    "ServerUrls",
    "SignalFilters",
    "SignalLike",
    "SignalRepository",
    "Storage",
    "StorageConfig",
    "StorageError",
    "StorageUnavailableError",
    "StoredKline",
    "StoredSignal",
    "current_revision",
    "downgrade",
    "head_revision",
    "open_storage",
    "start_servers",
    "upgrade",
    # repositories of the risk, monitor, market, audit and user data, and their value types
    "AlertLike", "AttemptLike", "AuditRepository", "BookLike", "BookLogRepository", "ChangeSource",
    "DenialRecord", "IssuedActivation", "KillSwitchRepository", "MIRROR_CHANNEL", "MIRROR_KEY",
    "MarketRepository", "MonitorRepository", "PerformanceHistory", "RebuiltExposure", "RiskStateRepository",
    "FindingRecord", "PassRecord", "ReconciliationRepository", "StoredFinding",
    "StatementRejectedError", "TradingStateRecord", "UserRepository", "WebhookDeliveryRepository",
    # users, sessions and the audit context (U-02, U-03, U-11)
    "AuditContext",
    "AuditContextLike",
    "RefreshOutcome",
    "Rotation",
    "SessionRepository",
    "UserRecord",
    "rebuild_exposure",
    # calibration (S-05), backtests (S-06), forward phases (S-07)
    "ActiveCalibration", "BacktestRepository", "CalibrationRepository", "OutcomeRow", "ThetaRow",
    "ForwardPhaseRecord", "ForwardRepository", "ForwardSignalRow",
    # the execution path (E-02..E-07)
    "ExecutionBook",
    "ExecutionRecord",
    "ExecutionRepository",
    "OrderRecord",
    "OutboxBacklog",
    "OutboxRepository",
    "OutboxRow",
    "Topic",
    "event_payload",
    "PositionRecord",
    "RejectionRecord",
    "SlippageRecord",
    # the public streams (P-06)
    "FundingRow", "StreamRepository", "TickerRow", "TradeRow",
}


def test_front_door_exports_are_pinned() -> None:
    assert set(storage.__all__) == EXPECTED
    for name in storage.__all__:
        assert getattr(storage, name) is not None


def test_every_storage_error_derives_from_storage_error() -> None:
    for name in storage.__all__:
        obj = getattr(storage, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, storage.StorageError)
