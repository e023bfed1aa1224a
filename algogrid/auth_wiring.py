"""Composition of the gateway's auth from settings and storage (U-03, U-08, DESIGN §7).

* Signing keys: HS256 uses ``auth.jwt_secret``; in simulation a missing one is generated once under
  ``<data_dir>/secrets/jwt_secret`` (mode 0600). RS256/ES256 read the PEM files. Paper and live refuse a
  missing or weak secret at settings validation (``AuthConfig.problems_for_mode``).
* The ``SecretCipher``: ``vault`` builds an hvac client for Transit; ``local`` (dev) uses ``auth.cipher.
  local_key`` or a key file generated under the data dir in simulation.
* ``ensure_first_admin``: on a fresh install (no user at all) ``algogrid run`` prints a one-time activation
  link for ``admin@localhost`` so the UI is usable at once.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path
from typing import Any

import structlog

from gateway.auth import (
    Accounts,
    AuthConfig,
    AuthService,
    LocalCipher,
    PasswordHasher,
    SecretCipher,
    TokenService,
    VaultTransitCipher,
    hash_token,
    mail_sender_for,
    new_token,
)
from storage import Storage

__all__ = ["FIRST_ADMIN_EMAIL", "build_auth", "cipher_for", "ensure_first_admin", "token_service_for"]

log = structlog.get_logger(__name__)

FIRST_ADMIN_EMAIL = "admin@localhost.localdomain"


def _secret_file(path: Path, make: Any) -> bytes:
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    value: bytes = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(value)
    log.info("secret generated for simulation", path=str(path))
    return value


def token_service_for(config: AuthConfig, mode: str, data_dir: Path) -> TokenService:
    """Return the token service with the configured algorithm and keys."""
    if config.jwt_algorithm == "HS256":
        if config.jwt_secret is not None:
            key: str | bytes = config.jwt_secret.get_secret_value()
        elif mode == "simulation":
            key = _secret_file(
                data_dir / "secrets" / "jwt_secret", lambda: secrets.token_urlsafe(48).encode()
            )
        else:
            raise ValueError(f"auth.jwt_secret is required in {mode} mode")
        signing, verify = key, key
    else:
        assert config.jwt_private_key_file is not None
        assert config.jwt_public_key_file is not None
        signing, verify = config.jwt_private_key_file.read_bytes(), config.jwt_public_key_file.read_bytes()
    return TokenService(
        algorithm=config.jwt_algorithm,
        signing_key=signing,
        verify_key=verify,
        issuer=config.issuer,
        audience=config.audience,
        access_ttl_s=config.access_ttl_s,
        refresh_ttl_s=config.refresh_ttl_s,
    )


def cipher_for(config: AuthConfig, mode: str, data_dir: Path) -> SecretCipher:
    """Return the configured cipher (``LocalCipher`` is refused in live mode)."""
    cipher = config.cipher
    if cipher.kind == "vault":
        import hvac

        token = cipher.vault_token.get_secret_value() if cipher.vault_token else os.environ.get("VAULT_TOKEN")
        client = hvac.Client(url=cipher.vault_addr, token=token, timeout=cipher.vault_timeout_s)
        return VaultTransitCipher(client, key=cipher.vault_key, mount=cipher.vault_mount)
    if mode == "live":
        raise ValueError("auth.cipher.kind 'local' is dev only and refused in live mode")
    if cipher.local_key is not None:
        return LocalCipher(base64.b64decode(cipher.local_key.get_secret_value()))
    path = cipher.local_key_file or data_dir / "secrets" / "local_cipher.key"
    raw = _secret_file(path, lambda: base64.b64encode(LocalCipher.generate_key()))
    return LocalCipher(base64.b64decode(raw))


def build_auth(
    config: AuthConfig, mode: str, data_dir: Path, storage: Storage, link_base: str
) -> tuple[AuthService, Accounts]:
    """Return the auth service and the account lifecycle over ``storage``."""
    auth = AuthService(
        config=config,
        tokens=token_service_for(config, mode, data_dir),
        users=storage.users,
        sessions=storage.sessions,
        audit=storage.audit,
        kv=storage.redis,
        cipher=cipher_for(config, mode, data_dir),
        hasher=PasswordHasher(config.passwords),
    )
    return auth, Accounts(auth, mail_sender_for(config.mail), config.public_url or link_base)


async def ensure_first_admin(storage: Storage, link_base: str, ttl_hours: int) -> str | None:
    """On a fresh install (no user), create the first admin and return its activation link (else None)."""
    if await storage.users.count() > 0:
        return None
    token = new_token()
    issued = await storage.users.issue_admin_activation(
        FIRST_ADMIN_EMAIL, hash_token(token), ttl_hours=ttl_hours, actor="bootstrap"
    )
    if issued is None:
        return None
    return f"{link_base.rstrip('/')}/ui/#/activate?token={token}"
