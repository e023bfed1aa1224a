"""JWT access and refresh tokens (U-03): one fixed algorithm, every claim required, typed by ``typ``.

Claims: ``sub`` (user UUID), ``role``, ``iat``, ``nbf``, ``exp``, ``jti``, ``aud``, ``iss``, ``typ``
(``access`` | ``refresh``), ``sid`` (the refresh family, i.e. the session) and, for browser sessions,
``csrf`` (the token the browser must echo in ``X-CSRF-Token``). The accepted algorithm is the configured one
only (an ``alg: none`` or HS/RS-confused token fails the allowlist); a refresh token is never accepted as an
access token and the reverse.
"""

from __future__ import annotations

import enum
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from gateway.auth.errors import InvalidTokenError

__all__ = ["Claims", "TokenKind", "TokenService"]

_REQUIRED = ["sub", "role", "iat", "nbf", "exp", "jti", "aud", "iss", "typ", "sid"]


class TokenKind(enum.StrEnum):
    """The ``typ`` claim."""

    ACCESS = "access"
    REFRESH = "refresh"


@dataclass(frozen=True, slots=True)
class Claims:
    """A verified token's claims."""

    sub: uuid.UUID
    role: str
    sid: uuid.UUID
    jti: str
    typ: TokenKind
    exp: int
    csrf: str | None = None


class TokenService:
    """Sign and verify tokens with one algorithm and one key pair (or one HS secret).

    Args:
        algorithm: ``HS256`` | ``RS256`` | ``ES256``.
        signing_key: the HS secret or the PEM private key.
        verify_key: the HS secret or the PEM public key.
        issuer, audience: required ``iss`` / ``aud``.
        access_ttl_s, refresh_ttl_s: lifetimes.
    """

    def __init__(
        self,
        *,
        algorithm: str,
        signing_key: str | bytes,
        verify_key: str | bytes,
        issuer: str,
        audience: str,
        access_ttl_s: int,
        refresh_ttl_s: int,
    ) -> None:
        self.algorithm = algorithm
        self._signing_key = signing_key
        self._verify_key = verify_key
        self.issuer = issuer
        self.audience = audience
        self.access_ttl_s = access_ttl_s
        self.refresh_ttl_s = refresh_ttl_s

    def issue(
        self,
        kind: TokenKind,
        user_id: uuid.UUID,
        role: str,
        sid: uuid.UUID,
        *,
        csrf: str | None = None,
        jti: str | None = None,
        now: float | None = None,
    ) -> tuple[str, Claims]:
        """Return a signed token of ``kind`` and its claims."""
        issued = int(now if now is not None else time.time())
        ttl = self.access_ttl_s if kind is TokenKind.ACCESS else self.refresh_ttl_s
        claims = Claims(
            sub=user_id,
            role=role,
            sid=sid,
            jti=jti or secrets.token_urlsafe(16),
            typ=kind,
            exp=issued + ttl,
            csrf=csrf,
        )
        payload: dict[str, Any] = {
            "sub": str(user_id),
            "role": role,
            "sid": str(sid),
            "iat": issued,
            "nbf": issued,
            "exp": claims.exp,
            "jti": claims.jti,
            "aud": self.audience,
            "iss": self.issuer,
            "typ": kind.value,
        }
        if csrf is not None:
            payload["csrf"] = csrf
        return jwt.encode(payload, self._signing_key, algorithm=self.algorithm), claims

    def verify(self, token: str, kind: TokenKind) -> Claims:
        """Return the claims of a valid token of ``kind``.

        Raises:
            InvalidTokenError: bad signature or algorithm, expired or not yet valid, wrong ``aud``/``iss``/
                ``typ``, a missing claim or a malformed value (the reason says which, never the token).
        """
        try:
            payload = jwt.decode(
                token,
                self._verify_key,
                algorithms=[self.algorithm],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": _REQUIRED},
            )
        except jwt.PyJWTError as exc:
            raise InvalidTokenError(f"invalid token: {type(exc).__name__}") from exc
        if payload.get("typ") != kind.value:
            raise InvalidTokenError(f"invalid token: expected a {kind.value} token")
        try:
            return Claims(
                sub=uuid.UUID(str(payload["sub"])),
                role=str(payload["role"]),
                sid=uuid.UUID(str(payload["sid"])),
                jti=str(payload["jti"]),
                typ=kind,
                exp=int(payload["exp"]),
                csrf=str(payload["csrf"]) if "csrf" in payload else None,
            )
        except (ValueError, TypeError) as exc:
            raise InvalidTokenError("invalid token: malformed claims") from exc
