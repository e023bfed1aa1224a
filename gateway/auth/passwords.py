"""Passwords (U-04): the Argon2id hash and the policy a new password must meet.

Policy: at least 12 characters, at least one letter and one digit, and not guessable: zxcvbn (Dropbox's
estimator, with its lists of common passwords, names, words and keyboard patterns) must score it at least 3
of 4, and it may not contain the account's e-mail name. Hashing and verifying are CPU-bound (tens of ms with
OWASP parameters) and run in a worker thread so the gateway's event loop keeps serving.
"""

from __future__ import annotations

import re

import trio
import zxcvbn
from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from gateway.auth.config import PasswordHashConfig

__all__ = ["MIN_LENGTH", "PasswordHasher", "password_problem"]

MIN_LENGTH = 12
MAX_LENGTH = 256
_MIN_SCORE = 3
_LETTER = re.compile(r"[^\W\d_]")
_DIGIT = re.compile(r"\d")


def password_problem(password: str, email: str | None = None) -> str | None:
    """Return why ``password`` is refused (a sentence), or None when it meets the policy (U-04)."""
    if len(password) < MIN_LENGTH:
        return f"expected at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"expected at most {MAX_LENGTH} characters"
    if not _LETTER.search(password) or not _DIGIT.search(password):
        return "expected letters and digits"
    inputs = [email, email.split("@")[0]] if email else []
    result = zxcvbn.zxcvbn(password[:100], user_inputs=[i for i in inputs if i])
    if result["score"] < _MIN_SCORE:
        warning = result.get("feedback", {}).get("warning") or "it is too easy to guess"
        return f"the password is too common or guessable: {warning.rstrip('.').lower()}"
    return None


class PasswordHasher:
    """Argon2id with the configured parameters; verification never says why it failed."""

    def __init__(self, config: PasswordHashConfig) -> None:
        self._argon = _Argon2(
            time_cost=config.time_cost,
            memory_cost=config.memory_kib,
            parallelism=config.parallelism,
            type=Type.ID,
        )
        # verified against for unknown users, so both paths cost the same (no enumeration by timing)
        self._dummy = self._argon.hash("not a password of anyone 0")

    async def hash(self, password: str) -> str:
        """Return the encoded Argon2id hash of ``password`` (computed off the event loop)."""
        return await trio.to_thread.run_sync(self._argon.hash, password)

    async def verify(self, encoded: str | None, password: str) -> bool:
        """Return whether ``password`` matches ``encoded``; with no hash, spend the same time and say no."""
        return await trio.to_thread.run_sync(self._verify, encoded, password)

    def _verify(self, encoded: str | None, password: str) -> bool:
        try:
            self._argon.verify(encoded or self._dummy, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return encoded is not None
