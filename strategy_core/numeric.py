"""Decimal arithmetic policy shared by every computation of the strategy core.

Every indicator, level and ratio is computed inside ``localcontext(DECIMAL_CONTEXT)``: 28 significant digits,
banker's rounding (ROUND_HALF_EVEN), and traps on invalid operations, division by zero and overflow. Results
are *not* quantized further: they keep up to 28 significant digits. Because the batch and the streaming forms
run the very same operations in the very same order inside this one context, they agree to the last digit
(S-01).

Prices and quantities that go to the exchange are snapped to the instrument grid with the ``round_*_to_step``
functions below, each saying explicitly which way it rounds.
"""

from __future__ import annotations

from decimal import (
    ROUND_CEILING,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)

__all__ = [
    "DECIMAL_CONTEXT",
    "round_down_to_step",
    "round_nearest_to_step",
    "round_up_to_step",
]

DECIMAL_CONTEXT = Context(
    prec=28,
    rounding=ROUND_HALF_EVEN,
    Emin=-999_999,
    Emax=999_999,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)
"""The one Decimal context of strategy_core: 28 digits, half-even, trapping invalid/÷0/overflow."""


def _snap(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    if step <= 0:
        raise ValueError(f"expected a positive step, got {step}")
    units = DECIMAL_CONTEXT.divide(value, step).to_integral_value(rounding, DECIMAL_CONTEXT)
    return DECIMAL_CONTEXT.multiply(units, step)


def round_down_to_step(value: Decimal, step: Decimal) -> Decimal:
    """Return the largest multiple of ``step`` that is ≤ ``value`` (towards −∞)."""
    return _snap(value, step, ROUND_FLOOR)


def round_up_to_step(value: Decimal, step: Decimal) -> Decimal:
    """Return the smallest multiple of ``step`` that is ≥ ``value`` (towards +∞)."""
    return _snap(value, step, ROUND_CEILING)


def round_nearest_to_step(value: Decimal, step: Decimal) -> Decimal:
    """Return the multiple of ``step`` nearest to ``value`` (ties to even)."""
    return _snap(value, step, ROUND_HALF_EVEN)
