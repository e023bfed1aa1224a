"""What one reconciliation pass read (C-01): per symbol, PostgreSQL, the PositionActor and the exchange.

The pass reads the exchange first and PostgreSQL second: an order's intent is committed before it is sent
(DESIGN §9), so every order of ours the exchange shows is already stored when PostgreSQL is read, and an
order in flight is never mistaken for an orphan.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from actors.position import PositionView
from exchange.bybit import ExecutionReport, OrderUpdate, PositionUpdate
from storage import ExecutionBook

__all__ = ["PassSnapshot", "SymbolSnapshot"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SymbolSnapshot:
    """One symbol as the three sources saw it during a pass.

    ``actor`` is ``None`` when the PositionActor did not answer; ``exchange_position`` is ``None`` when the
    exchange holds nothing on the symbol; ``exchange_moved`` when the position changed while the pass read
    (its size is then judged by the next pass); ``executions`` are the symbol's executions inside the pass's
    window; ``known_exec_ids`` / ``known_links`` say which of the exchange's ids PostgreSQL stores.
    """

    symbol: str
    held: ExecutionBook
    actor: tuple[PositionView, ...] | None
    exchange_position: PositionUpdate | None
    exchange_moved: bool
    open_orders: tuple[OrderUpdate, ...]
    executions: tuple[ExecutionReport, ...]
    known_exec_ids: frozenset[str]
    known_links: frozenset[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class PassSnapshot:
    """Everything a pass read, under the lock lease ``fence`` held by ``holder``."""

    run_id: str
    fence: int
    holder: str
    started_at: dt.datetime
    symbols: tuple[SymbolSnapshot, ...]
    read_ms: float
