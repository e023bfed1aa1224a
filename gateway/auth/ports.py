"""The ports the auth service needs from storage (``storage.users`` / ``storage.sessions`` satisfy them) and
the request facts it records (``RequestMeta``)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["IssuedLike", "RequestMeta", "RotationLike", "SessionStore", "UserLike", "UserStore"]


@dataclass(frozen=True, slots=True)
class RequestMeta:
    """Who asked and from where (U-11, O-01): written with every audit row a request causes."""

    actor_user_id: uuid.UUID | None = None
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    correlation_id: str | None = None

    def as_user(self, user_id: uuid.UUID) -> RequestMeta:
        """Return the same request attributed to ``user_id`` (after the user proved who they are)."""
        return RequestMeta(user_id, self.ip, self.user_agent, self.request_id, self.correlation_id)


class UserLike(Protocol):
    """A stored user."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def email(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def password_hash(self) -> str | None: ...
    @property
    def is_active(self) -> bool: ...
    @property
    def totp_secret_enc(self) -> str | None: ...
    @property
    def totp_enabled(self) -> bool: ...
    @property
    def created_at(self) -> dt.datetime: ...
    @property
    def last_login_at(self) -> dt.datetime | None: ...
    @property
    def pseudonymised_at(self) -> dt.datetime | None: ...


class IssuedLike(Protocol):
    @property
    def user_id(self) -> uuid.UUID: ...


class RotationLike(Protocol):
    @property
    def outcome(self) -> str: ...
    @property
    def user_id(self) -> uuid.UUID | None: ...
    @property
    def role(self) -> str | None: ...
    @property
    def via(self) -> str | None: ...


class UserStore(Protocol):
    """Users and one-time tokens (``storage.UserRepository``)."""

    async def count(self) -> int: ...
    async def by_email(self, email: str) -> UserLike | None: ...
    async def get(self, user_id: uuid.UUID) -> UserLike | None: ...
    async def list(self) -> Sequence[UserLike]: ...
    async def token_user(self, token_hash: str, purpose: str) -> UserLike | None: ...
    async def create_user(
        self,
        email: str,
        role: str,
        token_hash: str,
        *,
        ttl_hours: int,
        actor: str | None = None,
        context: RequestMeta | None = None,
    ) -> IssuedLike | None: ...
    async def issue_token(
        self, user_id: uuid.UUID, purpose: str, token_hash: str, *, ttl_hours: int
    ) -> None: ...
    async def set_pending_totp(self, user_id: uuid.UUID, secret_enc: str) -> None: ...
    async def consume_token(
        self,
        token_hash: str,
        purpose: str,
        password_hash: str,
        *,
        totp_step: int | None,
        context: RequestMeta,
    ) -> UserLike | None: ...
    async def claim_totp_step(self, user_id: uuid.UUID, step: int) -> bool: ...
    async def set_password(self, user_id: uuid.UUID, password_hash: str, context: RequestMeta) -> None: ...
    async def enable_totp(self, user_id: uuid.UUID, context: RequestMeta) -> bool: ...
    async def disable_totp(self, user_id: uuid.UUID, context: RequestMeta) -> None: ...
    async def update(
        self,
        user_id: uuid.UUID,
        *,
        role: str | None,
        is_active: bool | None,
        reset_token_hash: str | None,
        ttl_hours: int,
        context: RequestMeta,
    ) -> None: ...
    async def anonymise(self, user_id: uuid.UUID, context: RequestMeta) -> bool: ...
    async def export(self, user_id: uuid.UUID) -> dict[str, Any] | None: ...


class SessionStore(Protocol):
    """Refresh-token families (``storage.SessionRepository``)."""

    async def open(
        self, user_id: uuid.UUID, jti: str, ttl_s: int, via: str, context: RequestMeta
    ) -> tuple[uuid.UUID, dt.datetime]: ...
    async def rotate(self, family_id: uuid.UUID, presented_jti: str, new_jti: str) -> RotationLike: ...
    async def revoke(self, family_id: uuid.UUID, reason: str) -> uuid.UUID | None: ...
    async def revoke_user(self, user_id: uuid.UUID, reason: str) -> Sequence[uuid.UUID]: ...
