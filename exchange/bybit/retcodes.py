"""Bybit v5 ``retCode`` → error enum → action table (E-07).

Codes and meanings from https://bybit-exchange.github.io/docs/v5/error. The action says whether the REST
client retries, how loudly to log, what the user is told and whether ops are paged. Codes we do not know
map to ``RetCode.UNKNOWN`` (not retried, logged as errors, ops alerted).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

__all__ = ["ErrorAction", "RetCode", "action_for", "classify_http_status", "to_retcode"]

LogLevel = Literal["debug", "info", "warning", "error", "critical"]


class RetCode(enum.IntEnum):
    """The Bybit return codes the system acts on; ``UNKNOWN`` stands for all others."""

    OK = 0
    UNKNOWN = -1
    HTTP_RATE_LIMITED = -429
    HTTP_SERVER_ERROR = -500
    HTTP_FORBIDDEN = -403
    SERVER_TIMEOUT = 10000
    PARAMS_ERROR = 10001
    TIMESTAMP_OUT_OF_WINDOW = 10002
    INVALID_API_KEY = 10003
    SIGNATURE_ERROR = 10004
    PERMISSION_DENIED = 10005
    TOO_MANY_VISITS = 10006
    USER_AUTH_FAILED = 10007
    UNMATCHED_IP = 10010
    SERVER_ERROR = 10016
    ROUTE_NOT_FOUND = 10017
    IP_RATE_LIMITED = 10018
    TRADING_BANNED = 10027
    NOT_MODIFIED = 34040
    ORDER_NOT_EXISTS = 110001
    PRICE_OUT_OF_RANGE = 110003
    WALLET_BALANCE_INSUFFICIENT = 110004
    AVAILABLE_BALANCE_INSUFFICIENT = 110007
    ORDER_ALREADY_FINISHED = 110008
    REDUCE_ONLY_REJECTED = 110017
    TOO_MANY_ACTIVE_ORDERS = 110020
    QTY_INVALID = 110013
    ORDER_LINK_ID_DUPLICATE = 110072
    TRIGGER_NOT_ABOVE_PRICE = 110092
    TRIGGER_NOT_BELOW_PRICE = 110093
    ORDER_VALUE_TOO_LOW = 110094


@dataclass(frozen=True, slots=True)
class ErrorAction:
    """What to do about one error code."""

    retry: bool
    log_level: LogLevel
    user_message: str
    ops_alert: bool
    resync_clock: bool = False


_ACTIONS: dict[RetCode, ErrorAction] = {
    RetCode.OK: ErrorAction(False, "debug", "OK.", False),
    RetCode.UNKNOWN: ErrorAction(False, "error", "The exchange rejected the request.", True),
    RetCode.HTTP_RATE_LIMITED: ErrorAction(True, "warning", "The exchange is rate limiting us.", False),
    RetCode.HTTP_SERVER_ERROR: ErrorAction(True, "warning", "The exchange had a server error.", False),
    RetCode.HTTP_FORBIDDEN: ErrorAction(False, "critical", "The exchange refused access (IP ban?).", True),
    RetCode.SERVER_TIMEOUT: ErrorAction(True, "warning", "The exchange timed out.", False),
    RetCode.PARAMS_ERROR: ErrorAction(False, "error", "The request had an invalid parameter.", True),
    RetCode.TIMESTAMP_OUT_OF_WINDOW: ErrorAction(
        True, "warning", "Our clock drifted from the exchange's.", False, resync_clock=True
    ),
    RetCode.INVALID_API_KEY: ErrorAction(False, "critical", "The API key is invalid.", True),
    RetCode.SIGNATURE_ERROR: ErrorAction(False, "critical", "The request signature was rejected.", True),
    RetCode.PERMISSION_DENIED: ErrorAction(False, "critical", "The API key lacks a permission.", True),
    RetCode.TOO_MANY_VISITS: ErrorAction(True, "warning", "The exchange is rate limiting us.", False),
    RetCode.USER_AUTH_FAILED: ErrorAction(False, "critical", "Authentication failed.", True),
    RetCode.UNMATCHED_IP: ErrorAction(False, "critical", "This IP is not allowed for the API key.", True),
    RetCode.SERVER_ERROR: ErrorAction(True, "warning", "The exchange had a server error.", False),
    RetCode.ROUTE_NOT_FOUND: ErrorAction(False, "error", "The exchange does not know this endpoint.", True),
    RetCode.IP_RATE_LIMITED: ErrorAction(False, "critical", "This IP is rate limited by the exchange.", True),
    RetCode.TRADING_BANNED: ErrorAction(False, "critical", "Trading is banned for this account.", True),
    RetCode.NOT_MODIFIED: ErrorAction(False, "info", "The amendment changes nothing.", False),
    RetCode.ORDER_NOT_EXISTS: ErrorAction(False, "info", "The order does not exist.", False),
    RetCode.PRICE_OUT_OF_RANGE: ErrorAction(False, "warning", "The order price is out of range.", False),
    RetCode.WALLET_BALANCE_INSUFFICIENT: ErrorAction(False, "warning", "Insufficient wallet balance.", False),
    RetCode.AVAILABLE_BALANCE_INSUFFICIENT: ErrorAction(
        False, "warning", "Insufficient available balance.", False
    ),
    RetCode.ORDER_ALREADY_FINISHED: ErrorAction(
        False, "info", "The order is already filled or cancelled.", False
    ),
    RetCode.REDUCE_ONLY_REJECTED: ErrorAction(
        False, "warning", "Reduce-only order would increase the position.", False
    ),
    RetCode.TOO_MANY_ACTIVE_ORDERS: ErrorAction(False, "warning", "Too many active orders.", True),
    RetCode.QTY_INVALID: ErrorAction(False, "warning", "The order quantity is invalid.", False),
    RetCode.ORDER_LINK_ID_DUPLICATE: ErrorAction(
        False, "info", "An order with this client id exists.", False
    ),
    RetCode.TRIGGER_NOT_ABOVE_PRICE: ErrorAction(
        False, "warning", "A rising trigger must be above the current price.", False
    ),
    RetCode.TRIGGER_NOT_BELOW_PRICE: ErrorAction(
        False, "warning", "A falling trigger must be below the current price.", False
    ),
    RetCode.ORDER_VALUE_TOO_LOW: ErrorAction(
        False, "warning", "The order value is below the minimum.", False
    ),
}


def to_retcode(value: int) -> RetCode:
    """Return the enum member for a raw ``retCode`` (``UNKNOWN`` when unlisted)."""
    try:
        return RetCode(value)
    except ValueError:
        return RetCode.UNKNOWN


def classify_http_status(status: int) -> RetCode | None:
    """Return the enum member for an HTTP failure status, or ``None`` for a 2xx."""
    if 200 <= status < 300:
        return None
    if status == 429:
        return RetCode.HTTP_RATE_LIMITED
    if status == 403:
        return RetCode.HTTP_FORBIDDEN
    if status >= 500:
        return RetCode.HTTP_SERVER_ERROR
    return RetCode.UNKNOWN


def action_for(code: RetCode) -> ErrorAction:
    """Return the action table row for ``code``."""
    return _ACTIONS[code]
