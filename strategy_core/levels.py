"""Order levels, size and honest win probability of an AVI-5 signal (S-02, S-03, R-01).

Levels for side s (+1 long, −1 short), every price snapped to the instrument's tick:
- entry = best ask (long) or best bid (short): the price a taker would pay now
- R     = k_sl_atr × ATR rounded *up* to a whole tick (at least one tick): the risk distance per unit
- sl    = entry − s·R
- tpᵢ   = entry + s·mᵢ·R, rounded *towards* entry (never promise more than the configured multiple)
- qty   = risk_per_trade_usd / R rounded *down* to the quantity step (never risk more than 1R)
- risk_usd = qty × R;  risk_r = risk_usd / risk_per_trade_usd (≤ 1)

p_win (TP1 before SL) is an empirical-Bayes posterior mean, never a constant: a Beta(α₀, β₀) prior updated
with the pooled wins W and losses L of every hour gives m = (α₀ + W)/(α₀ + β₀ + W + L); the hour's own record
(wᵢ, lᵢ) is then shrunk towards m with strength n₀: p = (n₀·m + wᵢ)/(n₀ + wᵢ + lᵢ). Without any record p is
the prior mean α₀/(α₀ + β₀) — stated as such in docs/strategy.md. The result is rounded half-even to 4
decimals.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from strategy_core.config import AVI5Config, CalibrationStats, InstrumentRules
from strategy_core.models import Side
from strategy_core.numeric import DECIMAL_CONTEXT, round_down_to_step, round_up_to_step

__all__ = ["Levels", "compute_levels", "estimate_p_win"]

_P_WIN_QUANTUM = Decimal("0.0001")
_P_WIN_CACHE: dict[tuple[int, int, int, Side | None], tuple[CalibrationStats, AVI5Config, Decimal]] = {}
_P_WIN_CACHE_SIZE = 1024


class Levels(NamedTuple):
    """Entry, stop, targets and size of one candidate signal."""

    entry: Decimal
    sl: Decimal
    tp1: Decimal
    tp2: Decimal
    tp3: Decimal
    qty: Decimal
    risk_usd: Decimal
    risk_r: Decimal

    @property
    def consistent(self) -> bool:
        """Return whether the prices are positive and strictly ordered (S-03) and the size is positive."""
        sl, entry, tp1, tp2, tp3 = self.sl, self.entry, self.tp1, self.tp2, self.tp3
        if not (self.qty > 0 and min(sl, entry, tp1, tp2, tp3) > 0):
            return False
        if entry > sl:
            return sl < entry < tp1 < tp2 < tp3
        return tp3 < tp2 < tp1 < entry < sl


def compute_levels(
    side: Side,
    *,
    best_bid: Decimal,
    best_ask: Decimal,
    atr: Decimal,
    config: AVI5Config,
    instrument: InstrumentRules,
    risk_per_trade_usd: Decimal,
) -> Levels:
    """Return the levels of a ``side`` signal; ``qty`` may be below ``instrument.min_qty`` (caller checks).

    ``risk_per_trade_usd`` is 1R in USD (R-01): the size risks at most that much.
    """
    tick = instrument.tick_size
    # The context's methods: the operations ``localcontext(DECIMAL_CONTEXT)`` would run, in the same order.
    ctx = DECIMAL_CONTEXT
    long = side is Side.LONG
    entry = round_up_to_step(best_ask, tick) if long else round_down_to_step(best_bid, tick)
    risk = max(round_up_to_step(ctx.multiply(config.k_sl_atr, atr), tick), tick)
    sign = Decimal(side.sign)
    sl = ctx.subtract(entry, ctx.multiply(sign, risk))
    toward_entry = round_down_to_step if long else round_up_to_step
    tp1 = toward_entry(ctx.add(entry, ctx.multiply(ctx.multiply(sign, config.tp1_r), risk)), tick)
    tp2 = toward_entry(ctx.add(entry, ctx.multiply(ctx.multiply(sign, config.tp2_r), risk)), tick)
    tp3 = toward_entry(ctx.add(entry, ctx.multiply(ctx.multiply(sign, config.tp3_r), risk)), tick)
    qty = round_down_to_step(ctx.divide(risk_per_trade_usd, risk), instrument.qty_step)
    risk_usd = ctx.multiply(qty, risk)
    risk_r = ctx.divide(risk_usd, risk_per_trade_usd)
    return Levels(entry=entry, sl=sl, tp1=tp1, tp2=tp2, tp3=tp3, qty=qty, risk_usd=risk_usd, risk_r=risk_r)


def estimate_p_win(
    hour: int, calibration: CalibrationStats, config: AVI5Config, side: Side | None = None
) -> Decimal:
    """Return the posterior-mean probability that TP1 is hit before SL for a signal in UTC ``hour``.

    With ``side`` and per-side records (the calibration's OOS outcomes, S-05), the hour's own record is that
    side's in that hour; the pooled rate is over every hour and side either way.
    """
    # A pure function of frozen inputs: remembered per (hour, side) for the very calibration and config
    # objects (identity-checked, so another object never reads a stale value); a replay asks it per signal.
    key = (id(calibration), id(config), hour, side)
    known = _P_WIN_CACHE.get(key)
    if known is not None and known[0] is calibration and known[1] is config:
        return known[2]
    p = _p_win(hour, calibration, config, side)
    if len(_P_WIN_CACHE) >= _P_WIN_CACHE_SIZE:
        _P_WIN_CACHE.clear()
    _P_WIN_CACHE[key] = (calibration, config, p)
    return p


def _p_win(hour: int, calibration: CalibrationStats, config: AVI5Config, side: Side | None) -> Decimal:
    own = calibration.hour(hour)
    if side is not None:
        own = calibration.side_hour(side, hour) or own
    ctx = DECIMAL_CONTEXT  # its methods: the operations localcontext(DECIMAL_CONTEXT) would run, in order
    wins, losses = Decimal(calibration.total_wins), Decimal(calibration.total_losses)
    alpha = config.prior_alpha
    pooled = ctx.divide(
        ctx.add(alpha, wins), ctx.add(ctx.add(ctx.add(alpha, config.prior_beta), wins), losses)
    )
    strength = config.hour_prior_strength
    p = ctx.divide(
        ctx.add(ctx.multiply(strength, pooled), own.wins), ctx.add(ctx.add(strength, own.wins), own.losses)
    )
    return ctx.quantize(p, _P_WIN_QUANTUM)
