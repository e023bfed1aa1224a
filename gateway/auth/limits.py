"""Abuse limits kept in Redis so several gateways share them (G-02, U-02): failure counters with soft
lockout, and the revocation marks of sessions.

* ``AttemptLimiter`` — failures of login, TOTP and password reset are counted per account (a hash of the
  normalised e-mail, counted whether or not the account exists, so a lockout reveals nothing) and per client
  address, in a fixed window; past a limit the next attempt is refused with 429 and ``Retry-After`` before any
  password is checked.
* ``RevocationList`` — ``auth:revoked:<sid>`` marks a revoked session for as long as one of its access tokens
  could still be valid; every authenticated request checks it. A revocation made on this gateway takes effect
  here at once; a session found *not* revoked is remembered for ``cache_s`` (1 s by default), so another
  gateway's revocation takes effect here within that second, and a burst of requests of one session costs
  one Redis round trip per second instead of one per request.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from gateway.auth.config import LockoutConfig
from gateway.auth.errors import AuthUnavailableError, LockedOutError

__all__ = ["AttemptLimiter", "KeyValue", "RevocationList", "account_key", "count_in_window"]

_INCR_WINDOW = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('TTL', KEYS[1])}
"""


class KeyValue(Protocol):
    """The Redis commands the gateway's limits use (``storage.RedisClient`` satisfies it)."""

    async def get(self, key: str) -> str | None: ...

    async def setex(self, key: str, seconds: int, value: Any) -> bool: ...

    async def delete(self, *keys: str) -> int: ...

    async def exists(self, *keys: str) -> int: ...

    async def eval(self, script: str, keys: Sequence[str] = (), args: Sequence[Any] = ()) -> Any: ...


def account_key(email: str) -> str:
    """Return the counter key of an e-mail (its hash: addresses are not stored in Redis)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


async def count_in_window(kv: KeyValue, key: str, window_s: int) -> tuple[int, int]:
    """Increment ``key`` in a fixed window of ``window_s``; return (count, seconds left)."""
    count, ttl = await kv.eval(_INCR_WINDOW, [key], [window_s])
    return int(count), max(1, int(ttl))


class AttemptLimiter:
    """Per-account and per-address failure counters with soft lockout."""

    def __init__(self, kv: KeyValue, config: LockoutConfig, prefix: str = "auth:fail") -> None:
        self._kv = kv
        self._config = config
        self._prefix = prefix

    def _keys(self, account: str, ip: str) -> tuple[str, str]:
        return f"{self._prefix}:acct:{account}", f"{self._prefix}:ip:{ip}"

    async def check(self, account: str, ip: str) -> None:
        """Raise ``LockedOutError`` when the account or the address is over its limit (and
        ``AuthUnavailableError`` when Redis cannot say: the check fails closed)."""
        acct_key, ip_key = self._keys(account, ip)
        try:
            acct, by_ip = await self._kv.get(acct_key), await self._kv.get(ip_key)
        except Exception as exc:  # the Redis boundary: no lockout check, no login attempt
            reason = f"the attempt limit could not be checked: {type(exc).__name__}"
            raise AuthUnavailableError(reason) from exc
        if (acct and int(acct) >= self._config.max_account_failures) or (
            by_ip and int(by_ip) >= self._config.max_ip_failures
        ):
            raise LockedOutError(
                "too many failed attempts: try again later", retry_after_s=self._config.window_s
            )

    async def failed(self, account: str, ip: str) -> None:
        """Count one failure for the account and the address."""
        for key in self._keys(account, ip):
            await count_in_window(self._kv, key, self._config.window_s)

    async def succeeded(self, account: str) -> None:
        """Clear the account's failures after a full success."""
        await self._kv.delete(self._keys(account, "-")[0])

    async def limit_requests(self, kind: str, key: str, limit: int) -> None:
        """Count a request of ``kind`` (e.g. password reset) for ``key``; raise past ``limit`` per window."""
        count, left = await count_in_window(self._kv, f"{self._prefix}:{kind}:{key}", self._config.window_s)
        if count > limit:
            raise LockedOutError("too many requests: try again later", retry_after_s=left)


class RevocationList:
    """Revoked sessions (refresh families) by id, kept as long as their access tokens could live."""

    _MAX_REMEMBERED = 50_000

    def __init__(self, kv: KeyValue, ttl_s: int, prefix: str = "auth:revoked", cache_s: float = 1.0) -> None:
        self._kv = kv
        self._ttl_s = ttl_s
        self._prefix = prefix
        self._cache_s = cache_s
        self._valid_until: dict[uuid.UUID, float] = {}  # sid → monotonic time its "not revoked" expires
        self._revoked_here: dict[uuid.UUID, float] = {}  # sid → monotonic time the mark may be forgotten

    async def revoke(self, sids: Iterable[uuid.UUID]) -> None:
        """Mark ``sids`` revoked (in Redis for every gateway, and here at once)."""
        forget_at = time.monotonic() + self._ttl_s
        for sid in sids:
            self._valid_until.pop(sid, None)
            self._revoked_here[sid] = forget_at
            await self._kv.setex(f"{self._prefix}:{sid}", self._ttl_s, "1")

    async def is_revoked(self, sid: uuid.UUID) -> bool:
        """Return whether ``sid`` was revoked; raise ``AuthUnavailableError`` (503) when Redis fails.

        Fails closed: a session that cannot be checked is not accepted.
        """
        now = time.monotonic()
        if sid in self._revoked_here:
            return True
        if self._valid_until.get(sid, 0.0) > now:
            return False
        try:
            revoked = bool(await self._kv.exists(f"{self._prefix}:{sid}"))
        except Exception as exc:  # the Redis boundary: any failure means "cannot check", answered 503
            raise AuthUnavailableError(
                f"the session could not be checked: {type(exc).__name__}"
            ) from exc
        if len(self._valid_until) > self._MAX_REMEMBERED or len(self._revoked_here) > self._MAX_REMEMBERED:
            self._prune(now)
        if revoked:
            self._revoked_here[sid] = now + self._ttl_s
        elif self._cache_s > 0:
            self._valid_until[sid] = now + self._cache_s
        return revoked

    def _prune(self, now: float) -> None:
        self._valid_until = {s: t for s, t in self._valid_until.items() if t > now}
        self._revoked_here = {s: t for s, t in self._revoked_here.items() if t > now}
