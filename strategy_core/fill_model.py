"""The fill model: a signal's trade simulated bar by bar on confirmed candles (S-06, S-07, E-05).

Used by the backtest entry point and by the forward-validation phase (trades simulated, no order sent); pure
and deterministic (same signal and bars → same trade). For a signal of side s (+1 long, −1 short):

- **entry** at the signal's entry price moved against the trader by the E-05 model
  (``modelled_slippage_pct``: base, +0.15 % when ATR is above its 80th percentile, +0.25 % when the book's
  depth is below $1M or unknown); the fee is ``fee_pct`` of the notional.
- **exits**: the quantity is split over TP1..TP3 (``tp_split``, the rounding remainder on TP3). On each later
  bar, the stop is checked first: a bar whose range touches both the stop and a target counts as the stop
  (the conservative reading of an OHLC bar). A stop fill pays the modelled slippage; a target fills at its
  price. After ``max_hold_bars`` bars the rest is closed at the bar's close (with slippage).
- **funding** at every 00:00, 08:00 and 16:00 UTC instant the trade spans: s · open qty · close ·
  ``funding_rate`` is paid (a positive rate costs longs).
- **win** (the p_win event, S-03) is "TP1 before SL".

``pnl_usd`` is net of fees and funding; ``pnl_r`` divides it by 1R (R-01).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal, localcontext
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from strategy_core.execution import modelled_slippage_pct, split_take_profits
from strategy_core.models import ConfirmedCandle, Side
from strategy_core.numeric import DECIMAL_CONTEXT
from strategy_core.signal import Signal

__all__ = ["ExitReason", "FillModel", "OpenTrade", "SimulatedTrade", "simulate_trade"]

ExitReason = Literal["tp3", "sl", "time", "end_of_data"]
_HUNDRED = Decimal(100)
_ONE = Decimal(1)
_BPS = Decimal(10_000)
_FUNDING_EVERY = timedelta(hours=8)
_FIVE_MINUTES = timedelta(minutes=5)
PosDecimal = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]


class FillModel(BaseModel):
    """How simulated trades fill: slippage model (E-05), fees, funding and the time exit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    slippage_base_pct: Decimal = Field(
        default=Decimal("0.05"), ge=0, description="E-05 base slippage in % (execution.slippage_base_pct)."
    )
    fee_pct: Decimal = Field(default=Decimal("0.055"), ge=0, description="Fee per fill in % of notional.")
    funding_rate: Decimal = Field(
        default=Decimal("0.0001"), description="Funding rate per 8 h instant (positive: longs pay)."
    )
    tp_split: tuple[PosDecimal, ...] = Field(
        default=(Decimal("0.4"), Decimal("0.3"), Decimal("0.3")), min_length=3, max_length=3
    )
    max_hold_bars: int = Field(default=288, ge=1, description="Close the rest at the close after this.")
    qty_step: PosDecimal = Field(default=Decimal("0.001"), description="Quantity step of the TP split.")


class SimulatedTrade(BaseModel):
    """One simulated, closed trade."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    signal_id: str
    symbol: str
    side: Side
    opened_at: datetime
    closed_at: datetime
    entry: Decimal
    entry_fill: Decimal
    qty: Decimal
    exit_avg: Decimal
    exit_reason: ExitReason
    tp1_first: bool
    fees_usd: Decimal
    funding_usd: Decimal
    pnl_usd: Decimal
    pnl_r: Decimal
    modelled_slippage_bps: Decimal
    p_win: Decimal
    hour: int


@dataclass(frozen=True, slots=True)
class OpenTrade:
    """A trade being simulated; ``on_bar`` returns the next state or the closed trade."""

    signal: Signal
    model: FillModel
    risk_per_trade_usd: Decimal
    entry_fill: Decimal
    sizes: tuple[Decimal, Decimal, Decimal]
    slip_pct: Decimal
    filled_tps: int = 0
    tp1_first: bool = False
    exit_value: Decimal = Decimal(0)
    exit_qty: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    funding: Decimal = Decimal(0)

    @classmethod
    def open(cls, signal: Signal, model: FillModel, risk_per_trade_usd: Decimal) -> OpenTrade:
        """Return the trade filled at the signal's entry with the modelled slippage and the entry fee."""
        slip = modelled_slippage_pct(
            model.slippage_base_pct,
            atr_above_p80=bool(signal.atr_above_p80),
            depth_usd=signal.book_depth_usd,
        )
        ctx = DECIMAL_CONTEXT  # its methods: the operations localcontext(DECIMAL_CONTEXT) would run, in order
        # entry · (1 + s·slip / 100); fee: qty · fill · fee% / 100
        fill = ctx.multiply(
            signal.entry, ctx.add(_ONE, ctx.divide(ctx.multiply(signal.side.decimal_sign, slip), _HUNDRED))
        )
        s1, s2, s3 = split_take_profits(signal.qty, model.tp_split, model.qty_step)
        fee = ctx.divide(ctx.multiply(ctx.multiply(signal.qty, fill), model.fee_pct), _HUNDRED)
        return cls(signal, model, risk_per_trade_usd, fill, (s1, s2, s3), slip, fees=fee)

    @property
    def open_qty(self) -> Decimal:
        """Return the quantity still open."""
        return self.signal.qty - self.exit_qty

    def _exit(
        self, qty: Decimal, price: Decimal, *, slipped: bool, filled_tps: int | None = None
    ) -> OpenTrade:
        """Return the trade after an exit of ``qty`` at ``price``; ``filled_tps`` when a target filled it.

        The context's methods run the operations ``localcontext(DECIMAL_CONTEXT)`` would, in the same order.
        """
        ctx = DECIMAL_CONTEXT
        fill = price
        if slipped:  # price · (1 − s·slip / 100)
            sign = self.signal.side.decimal_sign
            fill = ctx.multiply(
                price, ctx.subtract(_ONE, ctx.divide(ctx.multiply(sign, self.slip_pct), _HUNDRED))
            )
        notional = ctx.multiply(qty, fill)
        fee = ctx.divide(ctx.multiply(notional, self.model.fee_pct), _HUNDRED)
        return OpenTrade(
            self.signal,
            self.model,
            self.risk_per_trade_usd,
            self.entry_fill,
            self.sizes,
            self.slip_pct,
            self.filled_tps if filled_tps is None else filled_tps,
            self.tp1_first or filled_tps is not None,
            ctx.add(self.exit_value, notional),
            ctx.add(self.exit_qty, qty),
            ctx.add(self.fees, fee),
            self.funding,
        )

    def _funding(self, bar: ConfirmedCandle) -> OpenTrade:
        if bar.end.minute or bar.end.hour % 8:  # no funding instant ends this bar (the common case)
            return self
        instants = _funding_instants(bar.start, bar.end)
        if not instants:
            return self
        sign = Decimal(self.signal.side.sign)
        with localcontext(DECIMAL_CONTEXT):
            paid = sign * self.open_qty * bar.close * self.model.funding_rate * instants
            return replace(self, funding=self.funding + paid)

    def watch(self) -> tuple[bool, Decimal, Decimal, datetime]:
        """Return (long, stop, next target, deadline): a later bar ``on_bar`` returns the trade unchanged for
        is one whose range stays strictly between the stop and the next target, that ends before the
        deadline (the time exit) and at no funding instant. A replay skips such bars without calling it."""
        s = self.signal
        filled = self.filled_tps
        target = s.tp1 if filled == 0 else s.tp2 if filled == 1 else s.tp3
        return s.side is Side.LONG, s.sl, target, s.created_at + _FIVE_MINUTES * self.model.max_hold_bars

    def on_bar(self, bar: ConfirmedCandle) -> OpenTrade | SimulatedTrade:
        """Fold one later bar: stop first, then targets in order, then funding and the time exit.

        A bar that touches nothing returns the same trade (no copy: most bars of a trade are such bars).
        """
        s = self.signal
        long = s.side is Side.LONG
        high, low, end = bar.high, bar.low, bar.end
        if low <= s.sl if long else high >= s.sl:
            return self._exit(self.open_qty, s.sl, slipped=True).close(end, "sl")
        trade = self
        filled = self.filled_tps
        while filled < 3:
            tp = s.tp1 if filled == 0 else s.tp2 if filled == 1 else s.tp3
            if not (high >= tp if long else low <= tp):
                break
            size = trade.open_qty if filled == 2 else trade.sizes[filled]
            filled += 1
            trade = trade._exit(size, tp, slipped=False, filled_tps=filled)
        # exit_qty ≥ qty is open_qty ≤ 0 (a difference of two Decimals never rounds across zero)
        if filled == 3 or trade.exit_qty >= s.qty:
            return trade.close(end, "tp3")
        if not (end.minute or end.hour % 8):  # a funding instant may end this bar
            trade = trade._funding(bar)
        if (end - s.created_at) // _FIVE_MINUTES >= self.model.max_hold_bars:
            return trade._exit(trade.open_qty, bar.close, slipped=True).close(end, "time")
        return trade

    def close(self, at: datetime, reason: ExitReason) -> SimulatedTrade:
        """Return the closed trade (the open rest is assumed flat: callers exit it first)."""
        s = self.signal
        ctx = DECIMAL_CONTEXT  # its methods: the operations localcontext(DECIMAL_CONTEXT) would run, in order
        exit_value, exit_qty = self.exit_value, self.exit_qty
        exit_avg = ctx.divide(exit_value, exit_qty) if exit_qty > 0 else self.entry_fill
        gross = ctx.multiply(
            s.side.decimal_sign, ctx.subtract(exit_value, ctx.multiply(exit_qty, self.entry_fill))
        )
        pnl = ctx.subtract(ctx.subtract(gross, self.fees), self.funding)
        return SimulatedTrade(
            signal_id=str(s.id),
            symbol=s.symbol,
            side=s.side,
            opened_at=s.created_at,
            closed_at=at,
            entry=s.entry,
            entry_fill=self.entry_fill,
            qty=s.qty,
            exit_avg=exit_avg,
            exit_reason=reason,
            tp1_first=self.tp1_first,
            fees_usd=self.fees,
            funding_usd=self.funding,
            pnl_usd=pnl,
            pnl_r=ctx.divide(pnl, self.risk_per_trade_usd),
            modelled_slippage_bps=ctx.divide(ctx.multiply(self.slip_pct, _BPS), _HUNDRED),
            p_win=s.p_win,
            hour=s.bar_start.hour,
        )

    def end_of_data(self, last: ConfirmedCandle) -> SimulatedTrade:
        """Close the rest at the last bar's close (the data ended before an exit)."""
        return self._exit(self.open_qty, last.close, slipped=True).close(last.end, "end_of_data")


def _funding_instants(start: datetime, end: datetime) -> int:
    """Return how many funding instants (multiples of 8 h since the epoch) lie in (start, end]."""
    step = int(_FUNDING_EVERY.total_seconds())
    first, last = int(start.timestamp()), int(end.timestamp())
    return last // step - first // step


def simulate_trade(
    signal: Signal, later_bars: Iterable[ConfirmedCandle], model: FillModel, risk_per_trade_usd: Decimal
) -> SimulatedTrade | None:
    """Return the trade of ``signal`` over the bars after its own, or ``None`` when no bar follows."""
    trade = OpenTrade.open(signal, model, risk_per_trade_usd)
    last: ConfirmedCandle | None = None
    for bar in later_bars:
        if bar.start < signal.created_at:  # the signal's own bar (or earlier): the trade starts after it
            continue
        last = bar
        step = trade.on_bar(bar)
        if isinstance(step, SimulatedTrade):
            return step
        trade = step
    return None if last is None else trade.end_of_data(last)
