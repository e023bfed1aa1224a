"""Signed-request checks and per-key rate limits of the simulated REST API.

A private request carries ``X-BAPI-API-KEY``, ``X-BAPI-TIMESTAMP``, ``X-BAPI-RECV-WINDOW`` (default 5000)
and ``X-BAPI-SIGN`` = hex HMAC-SHA256(secret, timestamp + api_key + recv_window + payload), where the payload
is the raw query string of a GET and the raw body of a POST. It is accepted when
``server_time - recv_window <= timestamp < server_time + 1000`` (Bybit's rule).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from exchange.simulator.accounts import Account
from exchange.simulator.clock import wall_ms
from exchange.simulator.errors import BybitRejection

__all__ = ["RateLimiter", "RateVerdict", "authenticate", "rest_signature"]


def rest_signature(
    secret: str, timestamp_ms: int | str, api_key: str, recv_window_ms: int | str, payload: str
) -> str:
    """Return the hex HMAC-SHA256 signature Bybit v5 expects for a REST request."""
    message = f"{timestamp_ms}{api_key}{recv_window_ms}{payload}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def authenticate(headers: Mapping[str, str], payload: str, accounts: Mapping[str, Account]) -> Account:
    """Return the account a signed request belongs to.

    Raises:
        BybitRejection: 10003 unknown API key, 10002 timestamp outside the recv window, 10004 bad signature.
    """
    api_key = headers.get("x-bapi-api-key", "")
    account = accounts.get(api_key)
    if account is None:
        raise BybitRejection(10003, "API key is invalid.")
    raw_ts = headers.get("x-bapi-timestamp", "")
    raw_window = headers.get("x-bapi-recv-window", "5000")
    sign = headers.get("x-bapi-sign", "")
    if not raw_ts.isdigit() or not raw_window.isdigit():
        raise BybitRejection(10001, "params error: X-BAPI-TIMESTAMP and X-BAPI-RECV-WINDOW must be integers")
    timestamp, window, now = int(raw_ts), int(raw_window), wall_ms()
    if not now - window <= timestamp < now + 1000:
        raise BybitRejection(
            10002,
            "invalid request, please check your server timestamp or recv_window param. "
            f"req_timestamp[{timestamp}],server_timestamp[{now}],recv_window[{window}]",
        )
    expected = rest_signature(account.api_secret, raw_ts, api_key, raw_window, payload)
    if not hmac.compare_digest(expected, sign):
        raise BybitRejection(10004, f"error sign! origin_string[{raw_ts}{api_key}{raw_window}{payload}]")
    return account


@dataclass(frozen=True, slots=True)
class RateVerdict:
    """The outcome of one rate-limit check and the headers that report it."""

    allowed: bool
    limit: int
    remaining: int
    reset_ms: int

    def headers(self) -> dict[str, str]:
        """Return Bybit's ``X-Bapi-Limit*`` headers."""
        return {
            "X-Bapi-Limit": str(self.limit),
            "X-Bapi-Limit-Status": str(self.remaining),
            "X-Bapi-Limit-Reset-Timestamp": str(self.reset_ms),
        }


class RateLimiter:
    """Fixed one-second windows per (API key, endpoint bucket)."""

    def __init__(self) -> None:
        self._windows: dict[tuple[str, str], tuple[int, int]] = {}

    def check(self, api_key: str, bucket: str, limit: int) -> RateVerdict:
        """Count one request; return whether it fits in the current window."""
        now = wall_ms()
        second = now // 1000
        key = (api_key, bucket)
        window, used = self._windows.get(key, (second, 0))
        if window != second:
            window, used = second, 0
        reset = (second + 1) * 1000
        if used >= limit:
            return RateVerdict(False, limit, 0, reset)
        self._windows[key] = (window, used + 1)
        return RateVerdict(True, limit, limit - used - 1, reset)

    def exhausted(self, limit: int) -> RateVerdict:
        """Return a verdict for a forced 10006 (fault knob)."""
        return RateVerdict(False, limit, 0, (wall_ms() // 1000 + 1) * 1000)
