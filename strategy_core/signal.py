"""The trading signal DTO of S-03 and its lifecycle statuses."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from strategy_core.errors import InvalidSignalError
from strategy_core.models import Side, Symbol, ensure_utc

__all__ = ["Signal", "SignalStatus", "signal_id_for"]

_SIGNAL_NAMESPACE = uuid.UUID("5b0e7f3c-8a1d-4c55-9e57-0a7d1f1c2a05")
_NAMESPACE_BYTES = _SIGNAL_NAMESPACE.bytes
_V5_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))  # the variant and version bits uuid.UUID(version=5) rewrites
_V5_SET = (0x8000 << 48) | (5 << 76)
PosDecimal = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]


class SignalStatus(StrEnum):
    """Lifecycle of a signal: generated, queued by anti-churn (R-03), decided, acted on, or failed."""

    NEW = "new"
    QUEUED = "queued"
    APPROVED = "approved"
    DENIED = "denied"
    PLACED = "placed"
    EXPIRED = "expired"
    ERROR = "error"


def signal_id_for(strategy: str, symbol: str, side: Side, bar_start: datetime) -> uuid.UUID:
    """Return the deterministic id of the signal of one strategy, symbol, side and bar.

    A UUIDv5 of these four facts: re-evaluating the same bar (after an actor restart) yields the same id, so
    storage can refuse a second signal for one bar.
    """
    # uuid.uuid5 spelled out (SHA-1 of namespace + name, RFC 4122 variant and version 5 bits) with the
    # namespace's bytes computed once: the same UUID, without re-deriving them per signal.
    name = f"{strategy}|{symbol}|{side.value}|{bar_start.isoformat()}".encode()
    value = int.from_bytes(hashlib.sha1(_NAMESPACE_BYTES + name, usedforsecurity=False).digest()[:16])
    return uuid.UUID(int=(value & _V5_CLEAR) | _V5_SET)


class Signal(BaseModel):
    """A trading signal (S-03) with consistent levels: long sl < entry < tp1 < tp2 < tp3, short mirrored.

    ``risk_usd`` is qty × |entry − sl| (the loss at SL, fees excluded); ``risk_r`` is ``risk_usd`` in units of
    the configured 1R (R-01). ``p_win`` is the calibrated probability that TP1 is reached before SL.

    ``atr_above_p80`` and ``book_depth_usd`` are the market context at signal time that the slippage model
    reads (E-05): whether ATR lay above its 80th percentile, and the L50 book's notional depth; None: unknown.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: uuid.UUID
    symbol: Symbol
    side: Side
    entry: PosDecimal
    tp1: PosDecimal
    tp2: PosDecimal
    tp3: PosDecimal
    sl: PosDecimal
    qty: PosDecimal
    risk_usd: PosDecimal
    risk_r: PosDecimal
    p_win: Annotated[Decimal, Field(ge=0, le=1, allow_inf_nan=False)]
    strategy: str = Field(min_length=1)
    strategy_version: str = Field(min_length=1)
    created_at: datetime
    bar_start: datetime
    status: SignalStatus = SignalStatus.NEW
    queued_until: datetime | None = None
    error_code: str | None = None
    error_message: str | None = None
    atr_above_p80: bool | None = None
    book_depth_usd: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)] | None = None

    @model_validator(mode="after")
    def _check_levels(self) -> Self:
        # InvalidSignalError is not a ValueError, so it reaches the caller unwrapped (see errors.py).
        try:
            ensure_utc(self.created_at, "created_at")
            ensure_utc(self.bar_start, "bar_start")
            if self.queued_until is not None:
                ensure_utc(self.queued_until, "queued_until")
        except ValueError as exc:
            raise InvalidSignalError("utc_timestamps", str(exc)) from None
        sl, entry, tp1, tp2, tp3 = self.sl, self.entry, self.tp1, self.tp2, self.tp3
        if not (sl < entry < tp1 < tp2 < tp3 if self.side is Side.LONG else tp3 < tp2 < tp1 < entry < sl):
            order = (
                "sl < entry < tp1 < tp2 < tp3" if self.side is Side.LONG else "tp3 < tp2 < tp1 < entry < sl"
            )
            raise InvalidSignalError(
                "level_order",
                f"expected {order} for a {self.side.value} signal, got sl={self.sl} entry={self.entry} "
                f"tp1={self.tp1} tp2={self.tp2} tp3={self.tp3}",
            )
        if (self.status is SignalStatus.QUEUED) != (self.queued_until is not None):
            raise InvalidSignalError(
                "queued_until",
                f"expected queued_until exactly when status is queued, got {self.status.value}",
            )
        return self

    @property
    def risk_per_unit(self) -> Decimal:
        """Return |entry − sl|, the price distance of 1 unit's risk."""
        return abs(self.entry - self.sl)
