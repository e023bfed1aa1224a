"""Exception tree of the exchange room (STYLE §10).

Every third-party failure (httpx, trio-websocket, redis) is translated to one of these at exactly one
boundary with ``raise ... from exc``::

    ExchangeError
     ├── ExchangeConfigError            bad or missing configuration / credentials
     ├── MessageParseError              a WS or REST payload we cannot turn into a typed value
     ├── ExchangeTransportError         the request did not complete (connect, read, timeout)
     │    └── OrderOutcomeUnknownError  an order create whose fate could not be resolved by orderLinkId
     ├── BybitApiError                  Bybit answered with a non-zero retCode or an HTTP error (E-07)
     └── RateLimitExceededError         a rate-limit bucket did not free a token within the wait budget (E-08)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from exchange.bybit.retcodes import RetCode

__all__ = [
    "BybitApiError",
    "ExchangeConfigError",
    "ExchangeError",
    "ExchangeTransportError",
    "MessageParseError",
    "OrderOutcomeUnknownError",
    "RateLimitExceededError",
]


class ExchangeError(Exception):
    """Base class of every error raised by the exchange room."""


class ExchangeConfigError(ExchangeError):
    """Raise when the exchange configuration is unusable (names the field)."""


class MessageParseError(ExchangeError):
    """Raise when a message is malformed or of an unknown kind.

    Sessions count and log it; it never ends a session.
    """

    def __init__(self, message: str, *, topic: str | None = None) -> None:
        super().__init__(message)
        self.topic = topic


class ExchangeTransportError(ExchangeError):
    """Raise when a request could not be completed over the network."""


class OrderOutcomeUnknownError(ExchangeTransportError):
    """Raise when an order create timed out and querying its orderLinkId did not settle it."""

    def __init__(self, message: str, *, order_link_id: str) -> None:
        super().__init__(message)
        self.order_link_id = order_link_id


class BybitApiError(ExchangeError):
    """Raise when Bybit rejects a request; ``code`` and ``action`` say what to do about it (E-07)."""

    def __init__(self, message: str, *, ret_code: int, code: RetCode, http_status: int = 200) -> None:
        super().__init__(message)
        self.ret_code = ret_code
        self.code = code
        self.http_status = http_status

    @property
    def retryable(self) -> bool:
        """Return whether the action table says this error is worth retrying."""
        from exchange.bybit.retcodes import action_for

        return action_for(self.code).retry


class RateLimitExceededError(ExchangeError):
    """Raise when waiting for a rate-limit token would exceed the caller's timeout (E-08)."""

    def __init__(self, message: str, *, bucket: str, wait_s: float) -> None:
        super().__init__(message)
        self.bucket = bucket
        self.wait_s = wait_s
