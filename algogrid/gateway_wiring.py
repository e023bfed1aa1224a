"""Adapters between the gateway's ports and the real rooms, and ``serve_gateway`` (composition root).

The gateway talks only to ``gateway.ports``; this module is where those Protocols meet the rooms:

* ``StorageSignalReader`` — ``SignalReader`` over ``storage.signals`` (asyncpg through trio-asyncio);
* ``StoragePositionReader`` — ``PositionReader`` over ``storage.position_views`` (read-side queries);
* ``RedisStreamCommands`` — ``StreamCommands`` over ``storage.redis`` (the SSE event log's XADD/XRANGE);
* ``serve_gateway`` — runs ``gateway.serve`` over these two, the engine's ``EngineView`` (the one
  implementation is ``algogrid.engine_view.SupervisionEngineView``) and the PostgreSQL and Redis probes.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import structlog
import trio

from gateway import (
    CalibrationRunPage,
    CalibrationRunView,
    EngineView,
    ExecutionItem,
    ForwardBody,
    ForwardMetricsView,
    GatewayHandle,
    OrderItem,
    PositionDetail,
    PositionQuery,
    PositionSummary,
    ReadinessProbe,
    ReconciliationPort,
    SignalFeed,
    SignalQuery,
    SignalView,
    SlippageItem,
    serve,
)
from storage import SignalFilters, Storage, StorageError, StoredSignal
from storage.position_views import PositionViewRepository
from storage.redis_client import RedisClient
from storage.signals import SignalRepository

if TYPE_CHECKING:
    from algogrid.admin_wiring import LiveSettings

__all__ = [
    "RedisStreamCommands",
    "StoragePositionReader",
    "StorageSignalReader",
    "serve_gateway",
    "signal_view_of",
]

log = structlog.get_logger(__name__)


# ------------------------------------------------------------------------------------------------ signals


def signal_view_of(stored: StoredSignal) -> SignalView:
    """Return the HTTP view of a stored signal (``p_win`` becomes ``probability``)."""
    return SignalView.model_validate(stored, from_attributes=True)


class StorageSignalReader:
    """``gateway.SignalReader`` over ``storage.signals`` (newest first, G-01)."""

    def __init__(self, signals: SignalRepository) -> None:
        self._signals = signals

    @classmethod
    def of(cls, storage: Storage) -> StorageSignalReader:
        """Return a reader over ``storage.signals``."""
        return cls(storage.signals)

    async def list_signals(self, query: SignalQuery) -> list[SignalView]:
        """Return the page of signals matching ``query``."""
        filters = SignalFilters(
            symbol=query.symbol,
            side=query.direction,
            min_probability=None if query.min_probability is None else Decimal(str(query.min_probability)),
        )
        rows = await self._signals.list(filters, limit=query.limit, offset=query.offset)
        return [signal_view_of(row) for row in rows]

    async def get_signal(self, signal_id: str) -> SignalView | None:
        """Return the signal with ``signal_id`` (a UUID) or None (also for ids that are not UUIDs)."""
        try:
            key = uuid.UUID(signal_id)
        except ValueError:
            return None
        row = await self._signals.get(key)
        return None if row is None else signal_view_of(row)


# ------------------------------------------------------------------------------------------------ positions


class StoragePositionReader:
    """``gateway.PositionReader`` over ``storage.position_views`` (newest first; E-06, G-01)."""

    def __init__(self, positions: PositionViewRepository) -> None:
        self._positions = positions

    @classmethod
    def of(cls, storage: Storage) -> StoragePositionReader:
        """Return a reader over ``storage.db``."""
        return cls(PositionViewRepository(storage.db))

    async def list_positions(self, query: PositionQuery) -> list[PositionSummary]:
        """Return the positions matching ``query``."""
        rows = await self._positions.list(query.status, limit=query.limit)
        return [PositionSummary.model_validate(row, from_attributes=True) for row in rows]

    async def get_position(self, position_id: str) -> PositionDetail | None:
        """Return one position (a UUID) with its orders, fills and slippage, or None (also for non-UUIDs)."""
        try:
            key = uuid.UUID(position_id)
        except ValueError:
            return None
        row = await self._positions.get(key)
        if row is None:
            return None
        return PositionDetail(
            position=PositionSummary.model_validate(row.position, from_attributes=True),
            orders=[OrderItem.model_validate(o, from_attributes=True) for o in row.orders],
            fills=[ExecutionItem.model_validate(e, from_attributes=True) for e in row.executions],
            slippage=[SlippageItem.model_validate(s, from_attributes=True) for s in row.slippage],
        )


# ------------------------------------------------------------------------------------------------ redis


class RedisStreamCommands:
    """``gateway.StreamCommands`` over the storage room's trio-native Redis client."""

    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis

    async def xadd(
        self,
        name: str,
        fields: Mapping[str, str],
        *,
        maxlen: int | None = None,
        approximate: bool = True,
        id: str = "*",
    ) -> str:
        """Append ``fields`` to stream ``name`` under ``id`` (trimmed approximately); return the entry id."""
        return await self._redis.xadd(name, fields, entry_id=id, maxlen=maxlen)

    async def xrange(
        self, name: str, min: str = "-", max: str = "+", count: int | None = None
    ) -> list[tuple[str, dict[str, str]]]:
        """Return the entries of ``name`` with ids in [min, max] (``(`` prefix: exclusive)."""
        return await self._redis.xrange(name, start=min, end=max, count=count)


async def _require(check: Callable[[], Awaitable[bool]], what: str) -> None:
    if not await check():
        raise StorageError(f"{what} did not answer")


# ------------------------------------------------------------------------------------------------ serve


async def serve_gateway(
    settings: Any,
    storage: Storage,
    engine: EngineView,
    feed: SignalFeed,
    *,
    shutdown_trigger: Callable[[], Awaitable[None]] | None = None,
    reconciliation: ReconciliationPort | None = None,
    live: LiveSettings | None = None,
    task_status: trio.TaskStatus[GatewayHandle] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the gateway over the real rooms until ``shutdown_trigger`` returns (or until cancelled).

    Args:
        settings: ``algogrid.settings.Settings`` (reads ``gateway``, ``auth``, ``mode``, ``storage.data_dir``
            and ``dev.fault_injection``).
        storage: an open ``storage.Storage`` (PostgreSQL reads, Redis Stream event log, probes).
        engine: the engine as the gateway sees it: ``Engine.view`` in ``algogrid run``, a
            ``SupervisionEngineView`` over any running tree in tests.
        feed: the ``SignalFeed`` the engine was given as its ``SignalPublisher``.
        shutdown_trigger: returns when the gateway must stop accepting and drain (O-03).
        reconciliation: the engine's reconciliation (``Engine.reconciliation``), None without a reconciler.
        live: the running engine's hot reload behind ``PATCH /config`` (None: changes wait for a restart).
    """
    from algogrid.admin_wiring import StorageOps
    from algogrid.api_key_wiring import StorageApiKeys, exchange_validator
    from algogrid.auth_wiring import build_auth

    fault_injection = bool(settings.dev.fault_injection)
    auth, accounts = build_auth(settings.auth, settings.mode, settings.storage.data_dir, storage, "")
    probes: dict[str, ReadinessProbe] = {
        "postgres": lambda: _require(storage.db.ping, "PostgreSQL"),
        "redis": lambda: _require(storage.redis.ping, "Redis"),
    }
    log.info("gateway wiring", symbols=len(engine.symbols()), fault_injection=fault_injection)
    await serve(
        settings.gateway,
        engine,
        StorageSignalReader.of(storage),
        RedisStreamCommands(storage.redis),
        feed,
        outbox=storage.outbox,
        positions=StoragePositionReader.of(storage),
        auth=auth,
        accounts=accounts,
        kv=storage.redis,
        ops=StorageOps(settings, storage, live),
        api_keys=StorageApiKeys(storage, auth.cipher, exchange_validator(settings.exchange)),
        fault_injection=fault_injection,
        probes=probes,
        reconciliation=reconciliation,
        forward=StorageForwardReader(storage, settings),
        shutdown_trigger=shutdown_trigger,
        task_status=task_status,
    )


class StorageForwardReader:
    """``gateway.ForwardReader`` over storage: the newest forward phase evaluated now, never judged (S-07)."""

    def __init__(self, storage: Any, settings: Any) -> None:
        self._storage = storage
        self._settings = settings

    async def calibration_runs(self, limit: int) -> CalibrationRunPage:
        """Return the newest runs and, among them, the newest succeeded version (the θ map in force)."""
        rows = await self._storage.calibration.recent_runs(limit)
        items = [
            CalibrationRunView(
                id=str(r["id"]), version=r["version"], status=r["status"], start_date=r["start_date"],
                end_date=r["end_date"], forced=r["forced"], progress_days=r["progress_days"],
                total_days=r["total_days"], triggered_by=r["triggered_by_name"], started_at=r["started_at"],
                finished_at=r["finished_at"], error=r["error"],
            )
            for r in rows
        ]
        succeeded = [run.version for run in items if run.status == "succeeded"]
        return CalibrationRunPage(items=items, active_version=max(succeeded) if succeeded else None)

    async def forward_status(self) -> ForwardBody:
        """Return the phase's progress ("X/30 days") and its simulated trades' metrics so far."""
        from algogrid.forward_gate import evaluate_forward
        from strategy_core import FillModel

        s = self._settings
        fill = FillModel(slippage_base_pct=s.execution.slippage_base_pct, tp_split=s.execution.tp_split)
        report = await evaluate_forward(
            self._storage, s.forward, fill, s.risk.risk_per_trade_usd, dt.datetime.now(dt.UTC),
            decide=False, by="gateway",
        )  # fmt: skip
        metrics = None
        if report.metrics is not None:
            m = report.metrics
            metrics = ForwardMetricsView(
                trades=m.trades, wins=m.wins, win_rate=m.win_rate, profit_factor=m.profit_factor,
                net_expectancy_r=m.net_expectancy_r, max_drawdown_pct=m.max_drawdown_pct,
                modelled_slippage_bps=m.modelled_slippage_bps, actual_slippage_bps=m.actual_slippage_bps,
            )  # fmt: skip
        return ForwardBody(
            phase_id=report.phase_id, status=report.status, started_at=report.started_at, days=report.days,
            min_days=report.min_days, progress=report.progress, metrics=metrics,
            reasons=list(report.verdict.reasons) if report.verdict is not None else [],
        )  # fmt: skip
