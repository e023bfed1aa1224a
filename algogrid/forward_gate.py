"""The forward-validation phase and the live-trading gate (S-07, Q-04), wired at the composition root.

* ``ForwardConfig`` (``forward:`` settings): ``enabled`` runs the phase — signals are generated on the live
  market (paper or live data) and **no order is sent**: the PositionActors get ``NoOrderExchange`` as their
  exchange port, whose order calls raise ``OrdersDisabledError`` before any request leaves (the order path
  itself refuses, whatever asks it); the trades are simulated by the fill model.
* ``evaluate_forward`` simulates the phase's stored signals on the stored klines (one trade per symbol at a
  time, as the PositionActor holds), computes WR, PF, MaxDD, expectancy and modelled vs actual slippage, and
  — after ``min_days`` — decides passed or failed (audited with the metrics).
* ``check_live_start`` is asked by ``algogrid run`` in live mode (without ``forward.enabled``) and by every
  enabling of trading (``algogrid kill-switch off`` in live mode): refused, with the reason and an audit row,
  unless the newest phase passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog
from pydantic import BaseModel, ConfigDict, Field

from exchange.errors import ExchangeError
from strategy_core import (
    FIVE_MINUTES,
    ConfirmedCandle,
    FillModel,
    ForwardMetrics,
    ForwardStatus,
    ForwardThresholds,
    ForwardVerdict,
    GateDecision,
    OpenTrade,
    Side,
    Signal,
    SimulatedTrade,
    forward_metrics,
    judge_forward,
    live_trading_gate,
    slippage_bps_of,
)

__all__ = [
    "ForwardConfig",
    "ForwardReport",
    "NoOrderExchange",
    "OrdersDisabledError",
    "check_live_start",
    "ensure_forward_phase",
    "evaluate_forward",
]

log = structlog.get_logger(__name__)


class ForwardConfig(BaseModel):
    """The ``forward:`` settings section (S-07)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = Field(default=False, description="Run the forward phase: signals live, orders disabled.")
    thresholds: ForwardThresholds = ForwardThresholds()
    starting_equity_usd: Decimal = Field(default=Decimal("1000"), gt=0)


class OrdersDisabledError(ExchangeError):
    """Raise on any order call during the forward phase: no order is sent (S-07)."""


class NoOrderExchange:
    """The PositionActors' exchange port in the forward phase: reads pass through, order calls raise."""

    def __init__(self, exchange: Any) -> None:
        self._exchange = exchange

    def __getattr__(self, name: str) -> Any:
        return getattr(self._exchange, name)

    async def create_order(self, request: object) -> Any:
        """Refuse: the forward phase sends no order."""
        raise OrdersDisabledError("the forward-validation phase is running: no order is sent (S-07)")

    async def amend_order(self, request: object) -> Any:
        """Refuse, as ``create_order``."""
        raise OrdersDisabledError("the forward-validation phase is running: no order is amended (S-07)")


class ForwardReport(BaseModel):
    """A phase's progress and metrics, as ``algogrid forward status`` and ``GET /admin/forward`` show them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    phase_id: str | None
    status: str
    started_at: datetime | None
    days: int
    min_days: int
    progress: str
    metrics: ForwardMetrics | None
    verdict: ForwardVerdict | None


def _signal(row: Any) -> Signal:
    return Signal(
        id=row.id, symbol=row.symbol, side=Side(row.side), entry=row.entry, tp1=row.tp1, tp2=row.tp2,
        tp3=row.tp3, sl=row.sl, qty=row.qty, risk_usd=row.risk_usd, risk_r=row.risk_r, p_win=row.p_win,
        strategy=row.strategy, strategy_version=row.strategy_version, created_at=row.created_at,
        bar_start=row.bar_start, atr_above_p80=row.atr_above_p80, book_depth_usd=row.book_depth_usd,
    )  # fmt: skip


def _candle(row: Any) -> ConfirmedCandle:
    return ConfirmedCandle(
        symbol=row.symbol, start=row.start, end=row.start + FIVE_MINUTES, open=row.open, high=row.high,
        low=row.low, close=row.close, volume=row.volume, turnover=row.turnover,
    )  # fmt: skip


def simulate_phase(
    signals: Sequence[Signal], bars: dict[str, list[ConfirmedCandle]], model: FillModel, one_r: Decimal
) -> tuple[list[SimulatedTrade], list[Decimal]]:
    """Return the phase's simulated trades and each one's actual entry slippage (the next bar's open)."""
    trades: list[SimulatedTrade] = []
    actual: list[Decimal] = []
    busy_until: dict[str, datetime] = {}
    for signal in sorted(signals, key=lambda s: (s.created_at, s.symbol)):
        if signal.created_at < busy_until.get(signal.symbol, signal.created_at):
            continue  # a trade is open on the symbol: this signal could not be taken
        later = [b for b in bars.get(signal.symbol, []) if b.start >= signal.created_at]
        trade: OpenTrade | SimulatedTrade = OpenTrade.open(signal, model, one_r)
        for bar in later:
            assert isinstance(trade, OpenTrade)
            trade = trade.on_bar(bar)
            if isinstance(trade, SimulatedTrade):
                break
        if not isinstance(trade, SimulatedTrade):
            continue  # still open: counted once it closes
        trades.append(trade)
        busy_until[signal.symbol] = trade.closed_at
        actual.append(slippage_bps_of(signal.side, signal.entry, later[0].open))
    return trades, actual


async def evaluate_forward(
    storage: Any,
    config: ForwardConfig,
    fill: FillModel,
    one_r: Decimal,
    now: datetime,
    *,
    decide: bool,
    by: str,
) -> ForwardReport:
    """Return the newest phase's progress and metrics; with ``decide``, judge it once ``min_days`` passed."""
    phase = await storage.forward.latest()
    if phase is None:
        return ForwardReport(
            phase_id=None, status="none", started_at=None, days=0, min_days=config.thresholds.min_days,
            progress=f"0/{config.thresholds.min_days} days", metrics=None, verdict=None,
        )  # fmt: skip
    until = phase.ended_at or now
    rows = await storage.forward.signals_between(phase.started_at, until)
    signals = [_signal(r) for r in rows]
    bars: dict[str, list[ConfirmedCandle]] = {}
    for symbol in sorted({s.symbol for s in signals}):
        stored = await storage.klines.between(symbol, phase.started_at - timedelta(minutes=5), until)
        bars[symbol] = [_candle(r) for r in stored]
    trades, actual = simulate_phase(signals, bars, fill, one_r)
    metrics = forward_metrics(
        trades, actual, started_at=phase.started_at, now=until, starting_equity_usd=config.starting_equity_usd
    )
    verdict = judge_forward(metrics, config.thresholds)
    status = phase.status
    if decide and phase.status == ForwardStatus.RUNNING.value and verdict.complete:
        status = (ForwardStatus.PASSED if verdict.passed else ForwardStatus.FAILED).value
        await storage.forward.decide(
            phase.id, status, now, metrics.model_dump(mode="json"), list(verdict.reasons), by
        )
        log.warning("forward phase decided", phase_id=phase.id, status=status, reasons=list(verdict.reasons))
    days = min(metrics.days, config.thresholds.min_days)
    return ForwardReport(
        phase_id=phase.id, status=status, started_at=phase.started_at, days=metrics.days,
        min_days=config.thresholds.min_days, progress=f"{days}/{config.thresholds.min_days} days",
        metrics=metrics, verdict=verdict,
    )  # fmt: skip


async def ensure_forward_phase(storage: Any, mode: str, config: ForwardConfig, now: datetime) -> str:
    """Return the running phase's id, starting one (audited) when none runs."""
    phase = await storage.forward.latest()
    if phase is not None and phase.status == ForwardStatus.RUNNING.value:
        return str(phase.id)
    started = await storage.forward.start(
        mode, now, config.thresholds.min_days, config.thresholds.model_dump(mode="json"), "system"
    )
    log.info("forward phase started", phase_id=started.id, mode=mode)
    return str(started.id)


async def check_live_start(storage: Any, action: str, actor: str) -> GateDecision:
    """Ask the gate whether live trading may be enabled for ``action``; audit the answer either way."""
    phase = await storage.forward.latest()
    status = None if phase is None else ForwardStatus(phase.status)
    decision = live_trading_gate(status, phase_id=None if phase is None else phase.id)
    await storage.audit.append(
        "live_trading_allowed" if decision.allowed else "live_trading_refused",
        {"action": action, "reason": decision.reason, "phase_id": None if phase is None else phase.id},
        actor=actor,
    )
    return decision
