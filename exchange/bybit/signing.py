"""Bybit v5 HMAC-SHA256 request and WebSocket-auth signatures.

REST: ``hex(HMAC_SHA256(secret, timestamp + api_key + recv_window + payload))`` where ``payload`` is the
query string of a GET (as sent, unsorted) or the raw JSON body of a POST. WebSocket: the same HMAC over
``"GET/realtime" + expires``. Both follow https://bybit-exchange.github.io/docs/v5/guide and
https://bybit-exchange.github.io/docs/v5/ws/connect.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["rest_sign_plaintext", "rest_signature", "signed_headers", "ws_auth_signature"]


def rest_sign_plaintext(timestamp_ms: int, api_key: str, recv_window_ms: int, payload: str) -> str:
    """Return the plain text Bybit signs for a REST request (the docs' ``param_str``)."""
    return f"{timestamp_ms}{api_key}{recv_window_ms}{payload}"


def rest_signature(secret: str, timestamp_ms: int, api_key: str, recv_window_ms: int, payload: str) -> str:
    """Return the lower-case hex ``X-BAPI-SIGN`` for one REST request."""
    text = rest_sign_plaintext(timestamp_ms, api_key, recv_window_ms, payload)
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def ws_auth_signature(secret: str, expires_ms: int) -> str:
    """Return the hex signature for ``{"op": "auth", "args": [key, expires, sign]}``."""
    return hmac.new(secret.encode(), f"GET/realtime{expires_ms}".encode(), hashlib.sha256).hexdigest()


def signed_headers(
    secret: str, api_key: str, timestamp_ms: int, recv_window_ms: int, payload: str
) -> dict[str, str]:
    """Return the four ``X-BAPI-*`` authentication headers for one request."""
    return {
        "X-BAPI-API-KEY": api_key,
        "X-BAPI-TIMESTAMP": str(timestamp_ms),
        "X-BAPI-RECV-WINDOW": str(recv_window_ms),
        "X-BAPI-SIGN": rest_signature(secret, timestamp_ms, api_key, recv_window_ms, payload),
    }
