"""Open the whole storage runtime: bridge, PostgreSQL pool, Redis client and every repository."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass

import structlog
import trio

from storage.aio import AioBridge, open_bridge
from storage.api_keys import ApiKeyRepository
from storage.audit import AuditRepository
from storage.backtests import BacktestRepository
from storage.calibration import CalibrationRepository
from storage.config import StorageConfig
from storage.database import Database, connect_database
from storage.embedded import EmbeddedPostgres, EmbeddedRedis
from storage.errors import StorageError
from storage.execution import ExecutionRepository
from storage.forward import ForwardRepository
from storage.kill_switch import KillSwitchRepository
from storage.klines import KlineRepository
from storage.market import MarketRepository
from storage.monitor import MonitorRepository
from storage.orderbook import BookLogRepository
from storage.outbox import OutboxRepository
from storage.reconciliation import ReconciliationRepository
from storage.redis_client import RedisClient, connect_redis
from storage.risk_state import RiskStateRepository
from storage.runtime_config import RuntimeConfigRepository
from storage.sessions import SessionRepository
from storage.signals import SignalRepository
from storage.streams import StreamRepository
from storage.users import UserRepository
from storage.webhook_deliveries import WebhookDeliveryRepository

__all__ = ["ServerUrls", "Storage", "open_storage", "start_servers"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ServerUrls:
    """Where the servers are (URLs may hold passwords: never log them)."""

    database_url: str
    redis_url: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Storage:
    """Everything the other rooms use; valid inside ``open_storage``.

    Every repository here is the one instance of its kind for this runtime (``klines`` and ``signals`` own
    the group-commit writers that ``open_storage`` runs).
    """

    db: Database
    redis: RedisClient
    bridge: AioBridge
    klines: KlineRepository
    signals: SignalRepository
    outbox: OutboxRepository
    execution: ExecutionRepository
    books: BookLogRepository
    streams: StreamRepository
    kill_switch: KillSwitchRepository
    risk_state: RiskStateRepository
    webhook_deliveries: WebhookDeliveryRepository
    monitor: MonitorRepository
    reconciliation: ReconciliationRepository
    audit: AuditRepository
    users: UserRepository
    sessions: SessionRepository
    runtime_config: RuntimeConfigRepository
    api_keys: ApiKeyRepository
    calibration: CalibrationRepository
    backtests: BacktestRepository
    forward: ForwardRepository

    @classmethod
    def over(cls, db: Database, redis: RedisClient, bridge: AioBridge) -> Storage:
        """Return the runtime with every repository built over ``db`` and ``redis``."""
        outbox = OutboxRepository(db)
        kill_switch = KillSwitchRepository(db, redis, outbox)
        return cls(
            db=db,
            redis=redis,
            bridge=bridge,
            klines=KlineRepository(db),
            signals=SignalRepository(db, outbox),
            outbox=outbox,
            execution=ExecutionRepository(db, outbox),
            books=BookLogRepository(db),
            streams=StreamRepository(db),
            kill_switch=kill_switch,
            risk_state=RiskStateRepository(db, kill_switch),
            webhook_deliveries=WebhookDeliveryRepository(db),
            monitor=MonitorRepository(db),
            reconciliation=ReconciliationRepository(db, outbox),
            audit=AuditRepository(db),
            users=UserRepository(db),
            sessions=SessionRepository(db),
            runtime_config=RuntimeConfigRepository(db),
            api_keys=ApiKeyRepository(db),
            calibration=CalibrationRepository(db),
            backtests=BacktestRepository(db),
            forward=ForwardRepository(db),
        )

    def market(self, *, source: str = "ws") -> MarketRepository:
        """Return the pipeline's ``MarketStore`` over ``klines``, ``signals`` and ``books`` for ``source``."""
        return MarketRepository(self.klines, self.signals, self.books, source=source)

    async def ping(self) -> dict[str, bool]:
        """Return the health of each server, e.g. ``{"postgres": True, "redis": True}``."""
        return {"postgres": await self.db.ping(), "redis": await self.redis.ping()}


@contextmanager
def start_servers(config: StorageConfig, *, create_database: bool = True) -> Iterator[ServerUrls]:
    """Yield server URLs: the configured ones, or embedded servers under ``data_dir`` started for the block.

    Embedded servers we started are stopped on exit (and by the kernel if this process dies).
    ``create_database=False`` leaves a missing embedded ``algogrid`` database missing (a restore creates it).
    """
    started: list[EmbeddedPostgres | EmbeddedRedis] = []
    try:
        if config.database_url is not None:
            db_url = config.database_url.get_secret_value()
        else:
            postgres = EmbeddedPostgres(config.data_dir.resolve() / "postgres")
            db_url = postgres.start()
            started.append(postgres)
            if create_database:
                _ensure_database(db_url, "algogrid")
            db_url = db_url.rsplit("/", 1)[0] + "/algogrid"
        if config.redis_url is not None:
            redis_url = config.redis_url.get_secret_value()
        else:
            redis = EmbeddedRedis(config.data_dir.resolve() / "redis")
            redis_url = redis.start()
            started.append(redis)
        yield ServerUrls(db_url, redis_url)
    finally:
        for server in reversed(started):
            server.stop()


def _ensure_database(maintenance_url: str, name: str) -> None:
    import psycopg2  # type: ignore[import-untyped]  # no stubs installed; two calls only

    connection = psycopg2.connect(maintenance_url)
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{name}"')
                log.info("database created", database=name)
    finally:
        connection.close()


@asynccontextmanager
async def open_storage(
    config: StorageConfig, urls: ServerUrls | None = None
) -> AsyncIterator[Storage]:
    """Open the pool and the Redis client for ``urls`` (default: the URLs in ``config``); close on exit.

    Runs inside the caller's ``trio_asyncio`` loop when one is open, else opens its own.
    """
    if urls is None:
        if config.database_url is None or config.redis_url is None:
            raise StorageError("open_storage needs database_url and redis_url (or urls from start_servers)")
        urls = ServerUrls(config.database_url.get_secret_value(), config.redis_url.get_secret_value())
    async with (
        open_bridge() as bridge,
        connect_database(
            bridge, urls.database_url, min_size=config.pool_min_size, max_size=config.pool_max_size,
            command_timeout=config.command_timeout_seconds, connect_timeout=config.connect_timeout_seconds,
        ) as db,
        connect_redis(
            bridge,
            urls.redis_url,
            socket_timeout=config.connect_timeout_seconds,
            max_connections=config.redis_max_connections,
        ) as redis,
    ):
        storage = Storage.over(db, redis, bridge)
        async with trio.open_nursery() as writers:
            # group commit of the live feed's candles and of signals (storage/batching.py)
            await writers.start(storage.klines.writer.run)
            await writers.start(storage.signals.writer.run)
            log.info("storage opened", pool_min=config.pool_min_size, pool_max=config.pool_max_size)
            yield storage
            writers.cancel_scope.cancel()
    log.info("storage closed")
