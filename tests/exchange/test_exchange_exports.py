"""The ``exchange`` front door exports exactly what other rooms use, and every name resolves (STYLE §1)."""

from __future__ import annotations

import exchange
from tests.support.exports import assert_front_door

EXPECTED = [
    "AccountInfo", "AmendRequest", "ApplyResult", "BookDelta", "BookSnapshot", "BucketSpec", "BucketStats",
    "BybitApiError", "BybitRestClient", "Candle", "ClosedPnl", "ClosedPnlPage", "CoinBalance",
    "Credentials", "DEFAULT_BUCKETS", "ErrorAction", "EvalClient", "EvalScriptRunner", "Event", "EventSink",
    "ExchangeConfig", "ExchangeConfigError", "ExchangeError", "ExchangeMode", "ExchangeTransportError",
    "ExecutionPage", "ExecutionReport", "Instrument", "KlineUpdate", "Level", "MessageParseError",
    "OrderAck", "OrderBookL50", "OrderFilter", "OrderOutcomeUnknownError", "OrderPage", "OrderRequest",
    "OrderUpdate", "PRIVATE_TOPICS", "PositionUpdate", "PrivateAuthError", "PrivateEvent", "PrivateSession",
    "PublicEvent", "PublicSession", "PublicTrade", "RateLimitExceededError", "RateLimiter",
    "RedisScriptRunner", "RestStats", "RetCode", "ScriptRunner", "ServerTime", "SessionSilentError",
    "SessionStats", "Ticker", "TickerUpdate", "WalletUpdate", "action_for", "parse_private", "parse_public",
    "rest_signature", "to_retcode", "ws_auth_signature",
]  # fmt: skip


def test_the_front_door_exports_exactly_the_pinned_names() -> None:
    assert_front_door(exchange, EXPECTED)
