"""The backtest report: trade metrics, p_win reliability and Brier score, the equity curve, in a folder.

- metrics (per symbol and overall): trades, WR (net PnL > 0), PF = Σ wins/|Σ losses|, MaxDD % of the equity
  curve from ``starting_equity_usd``, net expectancy (mean R), total PnL, mean modelled entry slippage (bps);
- **reliability** of p_win (S-03: TP1 before SL): trades binned by predicted p_win (width 0.1), with each
  bin's mean prediction and realised rate; the **Brier score** mean((p − outcome)²) of the signals' p_win next
  to that of the constant prior α₀/(α₀ + β₀) — lower is better, equal means p_win carries no information;
- the equity curve as an SVG (no plotting dependency), ``trades.csv`` and ``report.json``.

The report names the book mode (``recorded`` / ``approximated`` / ``mixed``) with the assumptions used, and
that funding is charged at a constant rate: nothing is approximated silently.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from backtest.config import BacktestConfig
from backtest.runner import BacktestResult
from strategy_core import SimulatedTrade, max_drawdown_pct, trade_stats

__all__ = ["brier_score", "build_report", "equity_svg", "reliability", "write_report"]

_Q = Decimal("0.0001")


def _num(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(_Q))


def brier_score(predicted: Sequence[Decimal], outcomes: Sequence[bool]) -> Decimal | None:
    """Return mean((p − o)²), o ∈ {0, 1} (None without trades)."""
    if not predicted:
        return None
    total = sum(((p - (1 if o else 0)) ** 2 for p, o in zip(predicted, outcomes, strict=True)), Decimal(0))
    return total / len(predicted)


def reliability(trades: Sequence[SimulatedTrade], bins: int = 10) -> list[dict[str, Any]]:
    """Return per p_win bin: its range, trade count, mean predicted p_win and realised TP1-first rate."""
    out: list[dict[str, Any]] = []
    for b in range(bins):
        lo, hi = Decimal(b) / bins, Decimal(b + 1) / bins
        chosen = [t for t in trades if lo <= t.p_win < hi or (b == bins - 1 and t.p_win == hi)]
        if not chosen:
            continue
        out.append(
            {
                "bin": f"[{lo}, {hi})",
                "trades": len(chosen),
                "predicted": _num(sum((t.p_win for t in chosen), Decimal(0)) / len(chosen)),
                "realised": _num(Decimal(sum(t.tp1_first for t in chosen)) / len(chosen)),
            }
        )
    return out


def _metrics(trades: Sequence[SimulatedTrade], starting_equity: Decimal) -> dict[str, Any]:
    ordered = sorted(trades, key=lambda t: (t.closed_at, t.symbol, t.signal_id))
    stats = trade_stats([t.pnl_r for t in ordered])
    wins = sum(1 for t in ordered if t.pnl_usd > 0)
    gains = sum((t.pnl_usd for t in ordered if t.pnl_usd > 0), Decimal(0))
    losses = -sum((t.pnl_usd for t in ordered if t.pnl_usd < 0), Decimal(0))
    slip = [t.modelled_slippage_bps for t in ordered]
    return {
        "trades": len(ordered),
        "wins": wins,
        "win_rate": _num(Decimal(wins) / len(ordered)) if ordered else None,
        "profit_factor": _num(gains / losses) if losses > 0 else None,
        "max_drawdown_pct": _num(max_drawdown_pct([t.pnl_usd for t in ordered], starting_equity)),
        "net_expectancy_r": _num(stats.net_expectancy_r),
        "pnl_usd": _num(sum((t.pnl_usd for t in ordered), Decimal(0))),
        "modelled_slippage_bps": _num(sum(slip, Decimal(0)) / len(slip)) if slip else None,
    }


def build_report(results: Sequence[BacktestResult], config: BacktestConfig, prior: Decimal) -> dict[str, Any]:
    """Return the report of one run (every symbol's results) as JSON-ready values."""
    trades = [t for r in results for t in r.trades]
    outcomes = [t.tp1_first for t in trades]
    modes = {r.book_mode for r in results}
    return {
        "config": json.loads(config.model_dump_json()),
        "book_mode": modes.pop() if len(modes) == 1 else "mixed",
        "book_assumptions": json.loads(config.book.model_dump_json()),
        "approximations": [
            "book conditions (imbalance, microprice, spread, depth) are assumed as book_assumptions on bars "
            "without a recorded L50 snapshot",
            f"funding is charged at a constant {config.fill.funding_rate} per 8 h instant",
        ],
        "symbols": {
            r.symbol: {
                "bars": r.bars,
                "signals": len(r.signals),
                "recorded_books": r.recorded_books,
                "approximated_books": r.approximated_books,
                **_metrics(r.trades, config.starting_equity_usd),
            }
            for r in results
        },
        "overall": _metrics(trades, config.starting_equity_usd),
        "p_win": {
            "reliability": reliability(trades),
            "brier": _num(brier_score([t.p_win for t in trades], outcomes)),
            "brier_constant_prior": _num(brier_score([prior] * len(trades), outcomes)),
            "prior": str(prior),
        },
    }


def equity_svg(trades: Sequence[SimulatedTrade], starting_equity: Decimal, width: int = 800) -> str:
    """Return the equity curve (after each closed trade, in close order) as a standalone SVG."""
    height, pad = 300, 30
    points = [starting_equity]
    for t in sorted(trades, key=lambda t: (t.closed_at, t.symbol, t.signal_id)):
        points.append(points[-1] + t.pnl_usd)
    lo, hi = min(points), max(points)
    span = hi - lo or Decimal(1)
    step = Decimal(width - 2 * pad) / max(len(points) - 1, 1)
    coords = " ".join(
        f"{float(pad + step * i):.1f},{float(height - pad - (p - lo) / span * (height - 2 * pad)):.1f}"
        for i, p in enumerate(points)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">\n'
        f'<rect width="100%" height="100%" fill="white"/>\n'
        f'<text x="{pad}" y="18" font-family="sans-serif" font-size="12">equity (USD): start '
        f"{starting_equity}, low {lo:.2f}, high {hi:.2f}, trades {len(points) - 1}</text>\n"
        f'<polyline fill="none" stroke="#1f6feb" stroke-width="1.5" points="{coords}"/>\n</svg>\n'
    )


def write_report(
    folder: Path, report: dict[str, Any], trades: Sequence[SimulatedTrade], start: Decimal
) -> None:
    """Write ``report.json``, ``trades.csv`` and ``equity.svg`` into ``folder`` (created if needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    fields = list(SimulatedTrade.model_fields)
    with (folder / "trades.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for t in sorted(trades, key=lambda t: (t.opened_at, t.symbol)):
            writer.writerow(t.model_dump(mode="json"))
    (folder / "equity.svg").write_text(equity_svg(trades, start))
