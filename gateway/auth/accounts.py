"""Accounts (U-01, U-02, U-04, U-05, U-10): activation with TOTP enrolment, password reset and change,
2FA setup/confirm/disable, and the admin's user management (create, role, status, reset, export, erase).

One-time tokens (activation 48 h, reset 1 h) are random 256-bit strings handed out once in a link; only
their SHA-256 is stored and a token is deleted when used. Trader and admin accounts cannot be activated
without confirming a TOTP code (U-05): ``activation_totp`` stores a pending secret, ``activate`` takes the
password and a current code in one step. Each change that weakens or moves trust (password, role, status,
2FA reset) ends every session of the user.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from typing import Any

import structlog

from gateway.auth.errors import (
    ConflictError,
    ForbiddenError,
    InvalidCredentialsError,
    InvalidOneTimeTokenError,
    PasswordPolicyError,
    ReauthenticationError,
)
from gateway.auth.limits import account_key
from gateway.auth.mail import MailSender
from gateway.auth.passwords import password_problem
from gateway.auth.ports import RequestMeta, UserLike
from gateway.auth.service import TOTP_ROLES, AuthService, Principal, totp_context
from gateway.auth.totp import TotpEnrolment, enrolment, matching_step, new_secret

__all__ = ["Accounts", "hash_token", "new_token"]

log = structlog.get_logger(__name__)


def new_token() -> str:
    """Return a fresh one-time token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Return the stored form of a one-time token: its SHA-256 as lower-case hex."""
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    """The account lifecycle over ``AuthService``'s stores."""

    def __init__(self, auth: AuthService, mail: MailSender, link_base: str) -> None:
        self.auth = auth
        self.users = auth.users
        self.mail = mail
        self.link_base = link_base

    def link(self, kind: str, token: str) -> str:
        """Return the UI link for a one-time token (in the fragment: never sent to a server)."""
        return f"{self.link_base.rstrip('/')}/ui/#/{kind}?token={token}"

    # ------------------------------------------------------------------------------------------ activation

    async def _token_user(self, token: str, purpose: str) -> UserLike:
        user = await self.users.token_user(hash_token(token), purpose)
        if user is None or user.pseudonymised_at is not None:
            raise InvalidOneTimeTokenError("the link is unknown, used or expired: ask for a new one")
        return user

    async def activation_totp(self, token: str) -> TotpEnrolment:
        """Return a new pending TOTP enrolment for the account of an activation token."""
        user = await self._token_user(token, "activation")
        secret = new_secret()
        await self.users.set_pending_totp(
            user.id, await self.auth.cipher.encrypt(secret, totp_context(user.id))
        )
        return enrolment(secret, user.email, self.auth.config.totp_issuer)

    async def activate(self, token: str, password: str, totp_code: str | None, meta: RequestMeta) -> UserLike:
        """Set the first password (and confirm TOTP for trader/admin); the token is spent."""
        user = await self._token_user(token, "activation")
        self._check_policy(password, user.email)
        step: int | None = None
        if user.role in TOTP_ROLES or totp_code:
            if user.totp_secret_enc is None:
                raise ConflictError("this role needs a TOTP authenticator: fetch the enrolment first")
            secret = await self.auth.cipher.decrypt(user.totp_secret_enc, totp_context(user.id))
            step = matching_step(secret, totp_code or "")
            if step is None:
                raise InvalidCredentialsError("the authenticator code is wrong or expired")
        hashed = await self.auth.hasher.hash(password)
        done = await self.users.consume_token(
            hash_token(token), "activation", hashed, totp_step=step, context=meta
        )
        if done is None:
            raise InvalidOneTimeTokenError("the link is unknown, used or expired: ask for a new one")
        log.info("account activated", user_id=str(user.id), totp=step is not None)
        return done

    # ------------------------------------------------------------------------------------------ passwords

    @staticmethod
    def _check_policy(password: str, email: str) -> None:
        problem = password_problem(password, email)
        if problem is not None:
            raise PasswordPolicyError(f"password refused: {problem}")

    async def forgot(self, email: str, meta: RequestMeta) -> None:
        """Mail a reset link if the account exists and is active; answer the same either way."""
        await self.auth.limiter.limit_requests(
            "reset", account_key(email), self.auth.config.lockout.max_reset_requests
        )
        await self.auth.limiter.limit_requests(
            "reset-ip", meta.ip or "unknown", self.auth.config.lockout.max_ip_failures
        )
        user = await self.users.by_email(email)
        if user is None or not user.is_active or user.password_hash is None:
            await self.auth.hasher.hash("equal work 0 for unknown accounts")  # same time as the real path
            return
        token = new_token()
        await self.users.issue_token(
            user.id, "password_reset", hash_token(token), ttl_hours=self.auth.config.reset_ttl_hours
        )
        await self.auth.audit.append(
            "password_reset_requested", {}, target_type="user", target_id=str(user.id), context=meta
        )
        await self.mail.send_link(user.email, "Reset your algogrid password", self.link("reset", token))

    async def reset(self, token: str, password: str, meta: RequestMeta) -> None:
        """Set a new password with a reset token; every session of the user ends."""
        user = await self._token_user(token, "password_reset")
        self._check_policy(password, user.email)
        hashed = await self.auth.hasher.hash(password)
        if (
            await self.users.consume_token(
                hash_token(token), "password_reset", hashed, totp_step=None, context=meta
            )
            is None
        ):
            raise InvalidOneTimeTokenError("the link is unknown, used or expired: ask for a new one")
        await self.auth.revoke_user(user.id, "password_reset")

    async def change_password(self, principal: Principal, current: str, new: str, meta: RequestMeta) -> None:
        """Change the caller's password (current one required); every session ends (log in again)."""
        user = await self._me(principal)
        acct = account_key(user.email)
        await self.auth.limiter.check(acct, meta.ip or "unknown")
        if not await self.auth.hasher.verify(user.password_hash, current):
            await self.auth.limiter.failed(acct, meta.ip or "unknown")
            raise InvalidCredentialsError("the current password is wrong")
        self._check_policy(new, user.email)
        await self.users.set_password(user.id, await self.auth.hasher.hash(new), meta)
        await self.auth.revoke_user(user.id, "password_changed")

    async def _me(self, principal: Principal) -> UserLike:
        user = await self.users.get(principal.user_id)
        if user is None or not user.is_active:
            raise ForbiddenError("the account is disabled")
        return user

    # ------------------------------------------------------------------------------------------ 2FA

    async def totp_setup(self, principal: Principal) -> TotpEnrolment:
        """Start (or restart) enrolment for a user without TOTP."""
        user = await self._me(principal)
        if user.totp_enabled:
            raise ConflictError("TOTP is enabled already: disable it first")
        secret = new_secret()
        await self.users.set_pending_totp(
            user.id, await self.auth.cipher.encrypt(secret, totp_context(user.id))
        )
        return enrolment(secret, user.email, self.auth.config.totp_issuer)

    async def totp_confirm(self, principal: Principal, code: str, meta: RequestMeta) -> None:
        """Enable the pending secret with a current code."""
        user = await self._me(principal)
        if user.totp_enabled or user.totp_secret_enc is None:
            raise ConflictError("no TOTP enrolment is pending")
        if await self.auth.check_totp(user, code) is None:
            raise InvalidCredentialsError("the authenticator code is wrong or expired")
        await self.users.enable_totp(user.id, meta)

    async def totp_disable(self, principal: Principal, password: str, code: str, meta: RequestMeta) -> None:
        """Disable TOTP (password and a current code; refused where it is mandatory)."""
        user = await self._me(principal)
        if user.role in TOTP_ROLES:
            raise ConflictError(f"TOTP is mandatory for the {user.role} role")
        if not user.totp_enabled:
            raise ConflictError("TOTP is not enabled")
        acct = account_key(user.email)
        await self.auth.limiter.check(acct, meta.ip or "unknown")
        ok = await self.auth.hasher.verify(user.password_hash, password)
        if not ok or await self.auth.check_totp(user, code) is None:
            await self.auth.limiter.failed(acct, meta.ip or "unknown")
            raise InvalidCredentialsError("invalid password or code")
        await self.users.disable_totp(user.id, meta)
        await self.auth.revoke_user(user.id, "totp_disabled")

    async def reauthenticate(
        self, principal: Principal, password: str, code: str, meta: RequestMeta, purpose: str
    ) -> None:
        """Check the caller's password and a current TOTP code again before a grave change (U-05).

        A failure counts toward the account's soft lockout, is audited as ``reauth_failed`` with
        ``purpose`` and raises ``ReauthenticationError`` (403: the session itself stays valid).
        """
        user = await self._me(principal)
        acct = account_key(user.email)
        await self.auth.limiter.check(acct, meta.ip or "unknown")
        ok = await self.auth.hasher.verify(user.password_hash, password)
        if not ok or await self.auth.check_totp(user, code) is None:
            await self.auth.limiter.failed(acct, meta.ip or "unknown")
            await self.auth.audit.append(
                "reauth_failed",
                {"purpose": purpose},
                target_type="user",
                target_id=str(user.id),
                context=meta,
            )
            raise ReauthenticationError(
                "re-authentication failed: the password or the authenticator code is wrong"
            )

    # ------------------------------------------------------------------------------------------ admin

    async def list_users(self) -> Sequence[UserLike]:
        """Return every user."""
        return await self.users.list()

    async def create_user(self, email: str, role: str, meta: RequestMeta) -> tuple[uuid.UUID, str]:
        """Create a user (no password) and mail the activation link; return its id and the link."""
        token = new_token()
        issued = await self.users.create_user(
            email, role, hash_token(token), ttl_hours=self.auth.config.activation_ttl_hours, context=meta
        )
        if issued is None:
            raise ConflictError("an active user has this e-mail")
        link = self.link("activate", token)
        await self.mail.send_link(email, "Activate your algogrid account", link)
        return issued.user_id, link

    async def update_user(
        self,
        user_id: uuid.UUID,
        *,
        role: str | None,
        is_active: bool | None,
        reset: bool,
        meta: RequestMeta,
    ) -> str | None:
        """Change role/status or reset the account (new activation link, returned); sessions end."""
        user = await self.users.get(user_id)
        if user is None or user.pseudonymised_at is not None:
            raise LookupError(f"no user with id {user_id}")
        if meta.actor_user_id == user_id and (role not in (None, user.role) or is_active is False):
            raise ConflictError("admins cannot demote or disable themselves")
        token = new_token() if reset else None
        await self.users.update(
            user_id,
            role=role if role != user.role else None,
            is_active=is_active if is_active != user.is_active else None,
            reset_token_hash=hash_token(token) if token else None,
            ttl_hours=self.auth.config.activation_ttl_hours,
            context=meta,
        )
        if (role is not None and role != user.role) or is_active is False or reset:
            await self.auth.revoke_user(user_id, "account_changed")
        if token is None:
            return None
        link = self.link("activate", token)
        await self.mail.send_link(user.email, "Set up your algogrid account again", link)
        return link

    async def export(self, user_id: uuid.UUID) -> dict[str, Any]:
        """Return the person's data (U-10)."""
        data = await self.users.export(user_id)
        if data is None:
            raise LookupError(f"no user with id {user_id}")
        return data

    async def anonymise(self, user_id: uuid.UUID, meta: RequestMeta) -> None:
        """Erase the person (U-10): pseudonymised, disabled, sessions ended; audit rows stay."""
        if meta.actor_user_id == user_id:
            raise ConflictError("admins cannot erase themselves")
        if not await self.users.anonymise(user_id, meta):
            raise LookupError(f"no user with id {user_id} (or erased already)")
        await self.auth.revoke_user(user_id, "anonymised")
