"""Bybit v5 adapter: signing, REST client, rate limiter, WS sessions, typed events and the L50 book."""

from __future__ import annotations

from exchange.bybit.events import (
    BookDelta,
    BookSnapshot,
    CoinBalance,
    Event,
    ExecutionReport,
    KlineUpdate,
    Level,
    OrderUpdate,
    PositionUpdate,
    PrivateEvent,
    PublicEvent,
    PublicTrade,
    TickerUpdate,
    WalletUpdate,
)
from exchange.bybit.messages import parse_private, parse_public
from exchange.bybit.models import (
    AccountInfo,
    AmendRequest,
    Candle,
    ClosedPnl,
    Instrument,
    OrderAck,
    OrderRequest,
    ServerTime,
    Ticker,
)
from exchange.bybit.orderbook import ApplyResult, OrderBookL50
from exchange.bybit.private_session import PRIVATE_TOPICS, PrivateAuthError, PrivateSession
from exchange.bybit.public_session import PublicSession
from exchange.bybit.ratelimit import (
    DEFAULT_BUCKETS,
    BucketSpec,
    BucketStats,
    EvalClient,
    EvalScriptRunner,
    RateLimiter,
    RedisScriptRunner,
    ScriptRunner,
)
from exchange.bybit.rest import BybitRestClient, ExecutionPage, RestStats
from exchange.bybit.rest_orders import ClosedPnlPage, OrderFilter, OrderPage
from exchange.bybit.retcodes import ErrorAction, RetCode, action_for, to_retcode
from exchange.bybit.signing import rest_signature, ws_auth_signature
from exchange.bybit.sink import EventSink, SessionStats
from exchange.bybit.ws_session import SessionSilentError

__all__ = [
    "DEFAULT_BUCKETS",
    "PRIVATE_TOPICS",
    "AccountInfo",
    "AmendRequest",
    "ApplyResult",
    "BookDelta",
    "BookSnapshot",
    "BucketSpec",
    "BucketStats",
    "BybitRestClient",
    "Candle",
    "ClosedPnl",
    "ClosedPnlPage",
    "CoinBalance",
    "ErrorAction",
    "EvalClient",
    "EvalScriptRunner",
    "Event",
    "EventSink",
    "ExecutionPage",
    "ExecutionReport",
    "Instrument",
    "KlineUpdate",
    "Level",
    "OrderAck",
    "OrderBookL50",
    "OrderFilter",
    "OrderPage",
    "OrderRequest",
    "OrderUpdate",
    "PositionUpdate",
    "PrivateAuthError",
    "PrivateEvent",
    "PrivateSession",
    "PublicEvent",
    "PublicSession",
    "PublicTrade",
    "RateLimiter",
    "RedisScriptRunner",
    "RestStats",
    "RetCode",
    "ScriptRunner",
    "ServerTime",
    "SessionSilentError",
    "SessionStats",
    "Ticker",
    "TickerUpdate",
    "WalletUpdate",
    "action_for",
    "parse_private",
    "parse_public",
    "rest_signature",
    "to_retcode",
    "ws_auth_signature",
]
