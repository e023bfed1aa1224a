"""Storage room: PostgreSQL and Redis for a trio program, repositories, a distributed lock, embedded servers.

Usage (from trio; asyncpg and redis.asyncio run on a ``trio_asyncio`` loop that ``open_storage`` opens
itself unless the caller already opened one with ``trio_asyncio.open_loop()``)::

    config = StorageConfig(database_url=SecretStr(db_url), redis_url=SecretStr(redis_url))
    async with open_storage(config) as storage:
        await storage.db.fetchval("SELECT 1")                 # pool min 5 / max 20 (T-04)
        async with storage.db.transaction() as conn:           # commit on exit, rollback on error
            await conn.fetchrow("SELECT ... FOR UPDATE", ...)
        await storage.redis.set("k", "v", ex=10)
        await storage.klines.upsert(candles)                   # idempotent on (symbol, start)
        await storage.signals.insert(signal)                   # once per deterministic id
        await storage.kill_switch.save_trading_state(record)   # + audit row, + Redis mirror (R-04)
        lock = RedisLock(storage.redis, "reconciler", ttl_seconds=30)   # C-04, fencing token
        async with lock.hold() as lease:
            await lock.fenced_set(lease, "reconciler:last_run", "…")

Every SQL statement of the project lives in a repository here, one per concept: candles (``klines``),
signals, the L50 book log (``books``), the public streams (``streams``: trades, tickers, funding), the
pipeline's ``MarketStore`` over the first three (``market(source=…)``),
the UI event outbox (``outbox``: rows written with the state change they announce, G-03),
trading state and kill switch (``kill_switch``), the RiskActor's state (``risk_state``), webhook deliveries,
the monitor's reads (``monitor``), reconciliation, the audit trail (``audit``), users (``users``),
calibration runs and θ maps (``calibration``), backtests (``backtests``) and forward phases (``forward``).
Their value types (``TradingStateRecord``, ``DenialRecord``, ``PerformanceHistory`` …) are exported here
too; the actors declare the ports these repositories satisfy.

Without URLs, ``with start_servers(config) as urls:`` starts embedded PostgreSQL/Redis under
``config.data_dir`` (default ``var/``) and ``open_storage(config, urls)`` uses them. Schema: ``upgrade(url)``.

Failure semantics: server unreachable → :class:`StorageUnavailableError` (``ping()`` returns False); the pool
and the Redis client reconnect by themselves once the server is back. Constraint violations →
:class:`IntegrityViolationError` naming the constraint; any other refused statement →
:class:`StatementRejectedError`.
"""

from __future__ import annotations

from storage.aio import AioBridge
from storage.audit import AuditContext, AuditContextLike, AuditRepository
from storage.backtests import BacktestRepository
from storage.calibration import ActiveCalibration, CalibrationRepository, OutcomeRow, ThetaRow
from storage.config import StorageConfig
from storage.database import Connection, Database
from storage.embedded import EmbeddedPostgres, EmbeddedRedis
from storage.errors import (
    EmbeddedServerError,
    FencedWriteRejectedError,
    IntegrityViolationError,
    LockError,
    LockLostError,
    LockNotAcquiredError,
    StatementRejectedError,
    StorageError,
    StorageUnavailableError,
)
from storage.execution import (
    ExecutionBook,
    ExecutionRecord,
    ExecutionRepository,
    OrderRecord,
    PositionRecord,
    RejectionRecord,
    SlippageRecord,
)
from storage.forward import ForwardPhaseRecord, ForwardRepository, ForwardSignalRow
from storage.kill_switch import (
    MIRROR_CHANNEL,
    MIRROR_KEY,
    ChangeSource,
    KillSwitchRepository,
    TradingStateRecord,
)
from storage.klines import CandleLike, KlineRepository, StoredKline
from storage.lock import Lease, RedisLock
from storage.market import MarketRepository
from storage.migrate import current_revision, downgrade, head_revision, upgrade
from storage.monitor import MonitorRepository, PerformanceHistory
from storage.orderbook import BookLike, BookLogRepository
from storage.outbox import OutboxBacklog, OutboxRepository, OutboxRow, Topic, event_payload
from storage.reconciliation import FindingRecord, PassRecord, ReconciliationRepository, StoredFinding
from storage.redis_client import RedisClient
from storage.risk_state import DenialRecord, RebuiltExposure, RiskStateRepository, rebuild_exposure
from storage.runtime import ServerUrls, Storage, open_storage, start_servers
from storage.sessions import RefreshOutcome, Rotation, SessionRepository
from storage.signals import SignalFilters, SignalLike, SignalRepository, StoredSignal
from storage.streams import FundingRow, StreamRepository, TickerRow, TradeRow
from storage.users import IssuedActivation, UserRecord, UserRepository
from storage.webhook_deliveries import AlertLike, AttemptLike, WebhookDeliveryRepository

__all__ = [
    "MIRROR_CHANNEL",
    "MIRROR_KEY",
    "ActiveCalibration",
    "AioBridge",
    "AlertLike",
    "AttemptLike",
    "AuditContext",
    "AuditContextLike",
    "AuditRepository",
    "BacktestRepository",
    "BookLike",
    "BookLogRepository",
    "CalibrationRepository",
    "CandleLike",
    "ChangeSource",
    "Connection",
    "Database",
    "DenialRecord",
    "EmbeddedPostgres",
    "EmbeddedRedis",
    "EmbeddedServerError",
    "ExecutionBook",
    "ExecutionRecord",
    "ExecutionRepository",
    "FencedWriteRejectedError",
    "FindingRecord",
    "ForwardPhaseRecord",
    "ForwardRepository",
    "ForwardSignalRow",
    "FundingRow",
    "IntegrityViolationError",
    "IssuedActivation",
    "KillSwitchRepository",
    "KlineRepository",
    "Lease",
    "LockError",
    "LockLostError",
    "LockNotAcquiredError",
    "MarketRepository",
    "MonitorRepository",
    "OrderRecord",
    "OutboxBacklog",
    "OutboxRepository",
    "OutboxRow",
    "OutcomeRow",
    "PassRecord",
    "PerformanceHistory",
    "PositionRecord",
    "RebuiltExposure",
    "ReconciliationRepository",
    "RedisClient",
    "RedisLock",
    "RefreshOutcome",
    "RejectionRecord",
    "RiskStateRepository",
    "Rotation",
    "ServerUrls",
    "SessionRepository",
    "SignalFilters",
    "SignalLike",
    "SignalRepository",
    "SlippageRecord",
    "StatementRejectedError",
    "Storage",
    "StorageConfig",
    "StorageError",
    "StorageUnavailableError",
    "StoredFinding",
    "StoredKline",
    "StoredSignal",
    "StreamRepository",
    "ThetaRow",
    "TickerRow",
    "Topic",
    "TradeRow",
    "TradingStateRecord",
    "UserRecord",
    "UserRepository",
    "WebhookDeliveryRepository",
    "current_revision",
    "downgrade",
    "event_payload",
    "head_revision",
    "open_storage",
    "rebuild_exposure",
    "start_servers",
    "upgrade",
]
