"""Exceptions of the pure strategy core.

The tree::

    StrategyCoreError                  every error raised on purpose by strategy_core
    ├── InvalidCandleError             a candle breaks a D-01 rule (``.rule`` names it)
    ├── InvalidSignalError             a signal's levels are inconsistent (S-03)
    ├── IndicatorError (ValueError)    an indicator cannot be computed from its input (S-01)
    │   ├── InsufficientDataError      too few bars / values for the requested window
    │   ├── ZeroVolumeError            a VWAP window traded no volume at all
    │   └── InvalidBookError           empty book side, zero/negative quantity, crossed book
    └── InvalidSymbolError (ValueError) a symbol whose base asset cannot be parsed

Design notes:
- ``InvalidCandleError`` and ``InvalidSignalError`` are deliberately *not* ``ValueError`` subclasses. pydantic
  wraps a ``ValueError`` raised inside a validator into its own ``ValidationError``; any other exception type
  propagates unchanged. Keeping them outside ``ValueError`` makes every construction path (``Model(...)``,
  ``model_validate``, ``model_validate_json``) raise our error itself, naming the broken rule (D-01).
- Indicator errors *are* ``ValueError``s because S-01 says "too few bars → ValueError".
"""

from __future__ import annotations

__all__ = [
    "IndicatorError",
    "InsufficientDataError",
    "InvalidBookError",
    "InvalidCandleError",
    "InvalidSignalError",
    "InvalidSymbolError",
    "StrategyCoreError",
    "ZeroVolumeError",
]


class StrategyCoreError(Exception):
    """Base of every error raised on purpose by strategy_core."""


class InvalidCandleError(StrategyCoreError):
    """Reject a candle that breaks a D-01 rule.

    Attributes:
        rule: short machine-readable name of the broken rule (e.g. ``close_in_range``).
    """

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"{rule}: {message}")
        self.rule = rule


class InvalidSignalError(StrategyCoreError):
    """Reject a signal whose fields break S-03 (level order, probability range, ...)."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"{rule}: {message}")
        self.rule = rule


class IndicatorError(StrategyCoreError, ValueError):
    """Signal that an indicator cannot be computed from the given input (S-01)."""


class InsufficientDataError(IndicatorError):
    """Raise when fewer bars or values are given than the window or period needs."""


class ZeroVolumeError(IndicatorError):
    """Raise when a VWAP window has zero total volume, so no volume-weighted mean exists."""


class InvalidBookError(IndicatorError):
    """Raise for an empty book side, a zero or negative quantity, or a crossed top of book."""


class InvalidSymbolError(StrategyCoreError, ValueError):
    """Raise when a symbol's base asset cannot be parsed (R-02 per-base limits)."""
