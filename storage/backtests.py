"""Backtest runs and their simulated trades (S-06): ``backtest_runs``, ``backtest_trades``."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

from storage.database import Database
from strategy_core import SimulatedTrade

__all__ = ["BacktestRepository"]

_RUN = """
    INSERT INTO backtest_runs (created_by, source, symbols, start_at, end_at, report_dir, report)
    VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id
"""
_TRADE = """
    INSERT INTO backtest_trades (backtest_run_id, signal_id, symbol, side, opened_at, closed_at, entry,
        entry_fill, qty, exit_avg, exit_reason, tp1_first, fees_usd, funding_usd, pnl_usd, pnl_r,
        modelled_slippage_bps, p_win)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
"""
_COUNT = "SELECT count(*) FROM backtest_trades WHERE backtest_run_id = $1"


class BacktestRepository:
    """Explicit SQL over the backtest tables."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(  # noqa: PLR0917 - the run's facts
        self,
        created_by: str,
        source: str,
        symbols: Sequence[str],
        start: datetime | None,
        end: datetime | None,
        report_dir: str | None,
        report: Mapping[str, object],
        trades: Sequence[SimulatedTrade],
    ) -> str:
        """Store the run and every trade in one transaction; return the run's id."""
        async with self._db.transaction() as conn:
            run_id = await conn.fetchval(
                _RUN, created_by, source, list(symbols), start, end, report_dir, dict(report)
            )
            await conn.executemany(
                _TRADE,
                [
                    (run_id, uuid.UUID(t.signal_id), t.symbol, t.side.value, t.opened_at, t.closed_at,
                     t.entry, t.entry_fill, t.qty, t.exit_avg, t.exit_reason, t.tp1_first, t.fees_usd,
                     t.funding_usd, t.pnl_usd, t.pnl_r, t.modelled_slippage_bps, t.p_win)
                    for t in trades
                ],
            )  # fmt: skip
        return str(run_id)

    async def trade_count(self, run_id: str) -> int:
        """Return how many trades a run stored."""
        return int(await self._db.fetchval(_COUNT, uuid.UUID(run_id)))
