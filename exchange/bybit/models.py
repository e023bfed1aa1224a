"""Typed REST results and requests (pydantic, frozen, Decimal money).

Exchange payloads gain fields over time, so result models ignore unknown keys (``extra="ignore"``) while
request models forbid them. Rows that have a WebSocket twin (orders, executions, positions, wallets) are
returned as the same frozen events the sessions publish (see ``exchange.bybit.events``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_serializer, model_validator
from pydantic.alias_generators import to_camel

__all__ = [
    "AccountInfo",
    "AmendRequest",
    "Candle",
    "ClosedPnl",
    "Instrument",
    "OrderAck",
    "OrderRequest",
    "ServerTime",
    "Ticker",
]


def _blank_to_none(value: Any) -> Any:
    return None if value == "" else value


OptDecimal = Annotated[Decimal | None, BeforeValidator(_blank_to_none)]
OptInt = Annotated[int | None, BeforeValidator(_blank_to_none)]


class _Result(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="ignore", alias_generator=to_camel, populate_by_name=True, allow_inf_nan=False
    )


class ServerTime(_Result):
    """``/v5/market/time``."""

    time_second: int
    time_nano: int

    @property
    def epoch_ms(self) -> int:
        """Return the server time in epoch milliseconds."""
        return self.time_nano // 1_000_000


class Candle(_Result):
    """One row of ``/v5/market/kline`` (Bybit sends ``[start, open, high, low, close, volume, turnover]``)."""

    start: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    turnover: Decimal

    @classmethod
    def from_row(cls, row: list[str]) -> Candle:
        """Build a candle from Bybit's positional list."""
        start, o, h, lo, c, v, t = row
        return cls(start=int(start), open=o, high=h, low=lo, close=c, volume=v, turnover=t)


class Ticker(_Result):
    """One row of ``/v5/market/tickers``."""

    symbol: str
    last_price: Decimal
    mark_price: OptDecimal = None
    index_price: OptDecimal = None
    bid1_price: OptDecimal = None
    bid1_size: OptDecimal = None
    ask1_price: OptDecimal = None
    ask1_size: OptDecimal = None
    funding_rate: OptDecimal = None
    next_funding_time: OptInt = None
    volume24h: OptDecimal = None
    turnover24h: OptDecimal = None


class _PriceFilter(_Result):
    min_price: Decimal
    max_price: Decimal
    tick_size: Decimal


class _LotSizeFilter(_Result):
    min_order_qty: Decimal
    max_order_qty: Decimal
    qty_step: Decimal
    min_notional_value: OptDecimal = None
    max_mkt_order_qty: OptDecimal = None


class _LeverageFilter(_Result):
    min_leverage: Decimal
    max_leverage: Decimal
    leverage_step: Decimal


class Instrument(_Result):
    """One row of ``/v5/market/instruments-info`` with its tick size and qty step."""

    symbol: str
    status: str
    base_coin: str
    quote_coin: str
    price_filter: _PriceFilter
    lot_size_filter: _LotSizeFilter
    leverage_filter: _LeverageFilter
    funding_interval: int | None = None

    @property
    def tick_size(self) -> Decimal:
        """Return the price increment."""
        return self.price_filter.tick_size

    @property
    def qty_step(self) -> Decimal:
        """Return the quantity increment."""
        return self.lot_size_filter.qty_step

    @property
    def min_order_qty(self) -> Decimal:
        """Return the smallest order quantity."""
        return self.lot_size_filter.min_order_qty


class OrderAck(_Result):
    """The answer of ``/v5/order/create`` and ``/v5/order/cancel``."""

    order_id: str
    order_link_id: str = ""


class AccountInfo(_Result):
    """``/v5/account/info``."""

    margin_mode: str
    unified_margin_status: int
    updated_time: OptInt = None


class ClosedPnl(_Result):
    """One row of ``/v5/position/closed-pnl``: one closing chunk of a position (E-04).

    ``closed_pnl`` is Bybit's net figure: ``cum_exit_value - cum_entry_value`` (sign flipped for a closed
    short) minus ``open_fee`` (the entry fees of the closed quantity, pro rata) and ``close_fee``; funding is
    not in it (it arrives as ``execType`` Funding executions). ``open_fee``/``close_fee`` are ``None`` where
    the venue does not send them.
    """

    symbol: str
    order_id: str
    side: str
    qty: Decimal
    order_price: OptDecimal = None
    order_type: str
    exec_type: str = "Trade"
    closed_size: Decimal
    cum_entry_value: Decimal
    avg_entry_price: Decimal
    cum_exit_value: Decimal
    avg_exit_price: Decimal
    closed_pnl: Decimal
    fill_count: int
    leverage: OptDecimal = None
    open_fee: OptDecimal = None
    close_fee: OptDecimal = None
    created_time: int
    updated_time: int


_REQUEST_CONFIG = ConfigDict(
    frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True, allow_inf_nan=False
)


class OrderRequest(BaseModel):
    """A ``/v5/order/create`` request; ``order_link_id`` is mandatory so outcomes can be resolved (E-07).

    A ``trigger_price`` with its ``trigger_direction`` (1: fires when the price rises to it, 2: when it falls
    to it) makes a conditional order, e.g. a stop-loss as a reduce-only conditional Market order (E-02).
    """

    model_config = _REQUEST_CONFIG

    category: str = "linear"
    symbol: str
    side: Literal["Buy", "Sell"]
    order_type: Literal["Limit", "Market"]
    qty: Decimal = Field(gt=0)
    price: Decimal | None = Field(default=None, gt=0)
    time_in_force: Literal["GTC", "IOC", "FOK", "PostOnly"] = "GTC"
    order_link_id: str = Field(min_length=1, max_length=36)
    reduce_only: bool = False
    position_idx: int = 0
    trigger_price: Decimal | None = Field(default=None, gt=0)
    trigger_direction: Literal[1, 2] | None = None
    trigger_by: Literal["LastPrice", "MarkPrice", "IndexPrice"] | None = None
    close_on_trigger: bool | None = None

    @model_validator(mode="after")
    def _trigger_pair(self) -> OrderRequest:
        if (self.trigger_price is None) != (self.trigger_direction is None):
            raise ValueError("expected trigger_price and trigger_direction together, got only one of them")
        if self.trigger_price is None and (self.trigger_by is not None or self.close_on_trigger):
            raise ValueError("expected a trigger_price with trigger_by or close_on_trigger")
        return self

    @property
    def conditional(self) -> bool:
        """Return whether the order waits for its trigger price."""
        return self.trigger_price is not None

    @field_serializer("qty", "price", "trigger_price")
    def _plain_decimal(self, value: Decimal | None) -> str | None:
        return None if value is None else format(value, "f")

    def to_body(self) -> dict[str, Any]:
        """Return the JSON body Bybit expects (camelCase, decimals as plain strings, no nulls)."""
        return self.model_dump(by_alias=True, exclude_none=True)


class AmendRequest(BaseModel):
    """A ``/v5/order/amend`` request: an order named by id or ``orderLinkId`` and what to change.

    Only the fields given change; ``trigger_price`` moves a conditional order still waiting (R-05 break-even
    moves the stop-loss this way).
    """

    model_config = _REQUEST_CONFIG

    category: str = "linear"
    symbol: str
    order_id: str | None = None
    order_link_id: str | None = Field(default=None, min_length=1, max_length=36)
    qty: Decimal | None = Field(default=None, gt=0)
    price: Decimal | None = Field(default=None, gt=0)
    trigger_price: Decimal | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _names_and_changes(self) -> AmendRequest:
        if self.order_id is None and self.order_link_id is None:
            raise ValueError("expected order_id or order_link_id, got neither")
        if self.qty is None and self.price is None and self.trigger_price is None:
            raise ValueError("expected at least one of qty, price or trigger_price to change")
        return self

    @field_serializer("qty", "price", "trigger_price")
    def _plain_decimal(self, value: Decimal | None) -> str | None:
        return None if value is None else format(value, "f")

    def to_body(self) -> dict[str, Any]:
        """Return the JSON body Bybit expects (camelCase, decimals as plain strings, no nulls)."""
        return self.model_dump(by_alias=True, exclude_none=True)
