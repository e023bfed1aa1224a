"""Typed, immutable events parsed from Bybit v5 WebSocket pushes (and REST backfill).

Prices and sizes are ``Decimal``. Book levels are ``(price, size)`` tuples; a size of zero in a delta
deletes the level. Times are epoch milliseconds as Bybit sends them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeAlias

__all__ = [
    "BookDelta",
    "BookSnapshot",
    "CoinBalance",
    "Event",
    "ExecutionReport",
    "KlineUpdate",
    "Level",
    "OrderUpdate",
    "PositionUpdate",
    "PrivateEvent",
    "PublicEvent",
    "PublicTrade",
    "TickerUpdate",
    "WalletUpdate",
]

Level: TypeAlias = tuple[Decimal, Decimal]


@dataclass(frozen=True, slots=True)
class KlineUpdate:
    """One ``kline.{interval}.{symbol}`` candle; ``confirm`` is true once the bar has closed."""

    symbol: str
    interval: str
    start: int
    end: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    turnover: Decimal
    confirm: bool
    ts: int
    # perf_counter_ns() when the message was parsed in this process (latency accounting; 0 = not stamped)
    received_ns: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    """A full L50 order book (WS snapshot or REST resync); bids descending, asks ascending."""

    symbol: str
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    u: int
    seq: int
    ts: int
    cts: int | None


@dataclass(frozen=True, slots=True)
class BookDelta:
    """Changed L50 levels since update ``u - 1``; a zero size removes the level."""

    symbol: str
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    u: int
    seq: int
    ts: int
    cts: int | None


@dataclass(frozen=True, slots=True)
class PublicTrade:
    """One public trade print."""

    symbol: str
    trade_id: str
    side: str
    price: Decimal
    size: Decimal
    trade_time: int
    block_trade: bool
    ts: int


@dataclass(frozen=True, slots=True)
class TickerUpdate:
    """Ticker fields; on a ``delta`` push the fields Bybit did not resend are ``None``."""

    symbol: str
    last: Decimal | None
    mark: Decimal | None
    index: Decimal | None
    bid1: Decimal | None
    bid1_size: Decimal | None
    ask1: Decimal | None
    ask1_size: Decimal | None
    funding_rate: Decimal | None
    next_funding_time: int | None
    ts: int
    is_snapshot: bool


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """An order state change from the private ``order`` topic or ``/v5/order/realtime``."""

    category: str
    symbol: str
    order_id: str
    order_link_id: str
    side: str
    order_type: str
    price: Decimal | None
    qty: Decimal
    time_in_force: str
    status: str
    reduce_only: bool
    cum_exec_qty: Decimal
    cum_exec_value: Decimal | None
    cum_exec_fee: Decimal | None
    avg_price: Decimal | None
    leaves_qty: Decimal | None
    reject_reason: str
    created_time: int
    updated_time: int
    trigger_price: Decimal | None = None
    trigger_direction: int = 0
    stop_order_type: str = ""
    close_on_trigger: bool = False
    cancel_type: str = ""
    closed_pnl: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ExecutionReport:
    """One fill from the private ``execution`` topic or ``/v5/execution/list`` backfill."""

    category: str
    symbol: str
    exec_id: str
    order_id: str
    order_link_id: str
    side: str
    exec_price: Decimal
    exec_qty: Decimal
    exec_value: Decimal | None
    exec_fee: Decimal | None
    fee_rate: Decimal | None
    exec_type: str
    exec_time: int
    is_maker: bool
    closed_size: Decimal | None
    leaves_qty: Decimal | None
    exec_pnl: Decimal | None = None
    order_type: str = ""
    stop_order_type: str = ""


@dataclass(frozen=True, slots=True)
class PositionUpdate:
    """A position snapshot from the private ``position`` topic or ``/v5/position/list``."""

    category: str
    symbol: str
    side: str
    size: Decimal
    entry_price: Decimal | None
    mark_price: Decimal | None
    leverage: Decimal | None
    position_value: Decimal | None
    unrealised_pnl: Decimal | None
    cum_realised_pnl: Decimal | None
    liq_price: Decimal | None
    take_profit: Decimal | None
    stop_loss: Decimal | None
    position_idx: int
    updated_time: int


@dataclass(frozen=True, slots=True)
class CoinBalance:
    """One coin line of a wallet."""

    coin: str
    equity: Decimal | None
    wallet_balance: Decimal | None
    unrealised_pnl: Decimal | None
    cum_realised_pnl: Decimal | None
    locked: Decimal | None


@dataclass(frozen=True, slots=True)
class WalletUpdate:
    """An account wallet from the private ``wallet`` topic or ``/v5/account/wallet-balance``."""

    account_type: str
    total_equity: Decimal | None
    total_wallet_balance: Decimal | None
    total_margin_balance: Decimal | None
    total_available_balance: Decimal | None
    coins: tuple[CoinBalance, ...]


PublicEvent: TypeAlias = KlineUpdate | BookSnapshot | BookDelta | PublicTrade | TickerUpdate
PrivateEvent: TypeAlias = OrderUpdate | ExecutionReport | PositionUpdate | WalletUpdate
Event: TypeAlias = PublicEvent | PrivateEvent
