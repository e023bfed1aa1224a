"""Auth configuration (U-02..U-08, G-02): tokens, password hashing, lockout, cookies, cipher and mail.

One frozen model for the auth part of the gateway (STYLE §9), reachable as ``Settings.auth``; every default is
visible here. Secrets (the JWT signing secret, the local cipher key, the SMTP password) are ``SecretStr`` and
never logged. ``check_for_mode`` is what start-up calls: paper and live refuse a missing or weak signing
secret, the dev-only ``LocalCipher`` (live), and the fast test hash.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

__all__ = ["AuthConfig", "CipherConfig", "LockoutConfig", "MailConfig", "PasswordHashConfig"]

_FROZEN = ConfigDict(frozen=True, extra="forbid")

# OWASP Password Storage Cheat Sheet, Argon2id: m=19 MiB, t=2, p=1 is the minimum recommended configuration.
OWASP_MIN_MEMORY_KIB = 19_456
OWASP_MIN_TIME_COST = 2
MIN_HS_SECRET_BYTES = 32


class PasswordHashConfig(BaseModel):
    """Argon2id parameters (U-04). Below the OWASP minimum only with ``allow_insecure_for_tests`` (refused in
    paper and live mode): the test suite uses it to keep hashing fast."""

    model_config = _FROZEN

    memory_kib: int = Field(default=19_456, ge=8, le=4_194_304)
    time_cost: int = Field(default=2, ge=1, le=20)
    parallelism: int = Field(default=1, ge=1, le=16)
    allow_insecure_for_tests: bool = False

    @model_validator(mode="after")
    def _owasp_minimum(self) -> PasswordHashConfig:
        weak = self.memory_kib < OWASP_MIN_MEMORY_KIB or self.time_cost < OWASP_MIN_TIME_COST
        if weak and not self.allow_insecure_for_tests:
            raise ValueError(
                f"expected Argon2id memory_kib >= {OWASP_MIN_MEMORY_KIB} and "
                f"time_cost >= {OWASP_MIN_TIME_COST} "
                "(OWASP), or allow_insecure_for_tests: true"
            )
        return self


class LockoutConfig(BaseModel):
    """Soft lockout on login, TOTP and reset (abuse): failures counted per account and per IP in Redis."""

    model_config = _FROZEN

    window_s: int = Field(default=900, ge=10, le=86_400)
    max_account_failures: int = Field(default=5, ge=1, le=1000)
    max_ip_failures: int = Field(default=30, ge=1, le=100_000)
    max_reset_requests: int = Field(default=5, ge=1, le=1000)


class CipherConfig(BaseModel):
    """Where secrets are encrypted (U-05, U-08): Vault Transit, or the dev-only local AES-GCM key."""

    model_config = _FROZEN

    kind: Literal["local", "vault"] = "local"
    local_key_file: Path | None = None  # default: <data_dir>/secrets/local_cipher.key (created in simulation)
    local_key: SecretStr | None = None  # base64 of 32 bytes; wins over the file
    vault_addr: str = "http://127.0.0.1:8200"
    vault_token: SecretStr | None = None
    vault_mount: str = "transit"
    vault_key: str = "bybit"
    vault_timeout_s: float = Field(default=5.0, gt=0, le=60)


class MailConfig(BaseModel):
    """How one-time links reach people: logged (simulation) or sent by SMTP."""

    model_config = _FROZEN

    kind: Literal["log", "smtp"] = "log"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_starttls: bool = True
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    sender: str = "algogrid@localhost"


class AuthConfig(BaseModel):
    """Tokens, sessions and the rules around them (U-02..U-08).

    Attributes:
        jwt_algorithm: the one accepted algorithm (HS256 for dev; RS256/ES256 with PEM keys in production).
        jwt_secret: HS256 signing secret (>= 32 bytes); simulation generates one under the data dir.
        jwt_private_key_file / jwt_public_key_file: PEM keys for RS256/ES256.
        issuer / audience: the ``iss`` and ``aud`` every token carries and every check requires.
        access_ttl_s / refresh_ttl_s: 15 min and 7 days (U-03).
        activation_ttl_hours / reset_ttl_hours: one-time token lifetimes (U-02).
        public_url: base of the links in mails (default: the gateway's own address).
        cookie_secure: mark cookies Secure (always when TLS is on).
        totp_issuer: the issuer shown in authenticator apps.
        revocation_cache_s: how long a session found not revoked is trusted without asking Redis again (a
            revocation on another gateway takes effect within it; on this gateway at once).
    """

    model_config = _FROZEN

    jwt_algorithm: Literal["HS256", "RS256", "ES256"] = "HS256"
    jwt_secret: SecretStr | None = None
    jwt_private_key_file: Path | None = None
    jwt_public_key_file: Path | None = None
    issuer: str = "algogrid"
    audience: str = "algogrid-gateway"
    access_ttl_s: int = Field(default=900, ge=30, le=86_400)
    refresh_ttl_s: int = Field(default=7 * 86_400, ge=60, le=90 * 86_400)
    activation_ttl_hours: int = Field(default=48, ge=1, le=24 * 30)
    reset_ttl_hours: int = Field(default=1, ge=1, le=48)
    public_url: str | None = None
    cookie_secure: bool = False
    totp_issuer: str = "algogrid"
    revocation_cache_s: float = Field(default=1.0, ge=0, le=10)
    passwords: PasswordHashConfig = PasswordHashConfig()
    lockout: LockoutConfig = LockoutConfig()
    cipher: CipherConfig = CipherConfig()
    mail: MailConfig = MailConfig()

    def problems_for_mode(self, mode: str) -> list[str]:
        """Return why this config may not run in ``mode`` (empty: fine). Simulation accepts dev defaults."""
        if mode == "simulation":
            return []
        problems: list[str] = []
        if self.jwt_algorithm == "HS256":
            secret = self.jwt_secret.get_secret_value() if self.jwt_secret else ""
            if len(secret.encode()) < MIN_HS_SECRET_BYTES:
                problems.append(
                    f"auth.jwt_secret must hold at least {MIN_HS_SECRET_BYTES} bytes in {mode} mode"
                )
        elif self.jwt_private_key_file is None or self.jwt_public_key_file is None:
            problems.append(
                f"auth.jwt_private_key_file and jwt_public_key_file are required for {self.jwt_algorithm}"
            )
        if self.passwords.allow_insecure_for_tests:
            problems.append(f"auth.passwords.allow_insecure_for_tests must be false in {mode} mode")
        if mode == "live" and self.cipher.kind == "local":
            problems.append("auth.cipher.kind 'local' (dev only) is refused in live mode: use 'vault'")
        return problems
