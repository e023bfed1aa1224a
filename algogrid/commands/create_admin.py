"""``algogrid create-admin``: create an admin user and print a one-time activation link (U-02).

The user starts without a password; the link carries a random token valid for 48 hours. Only the token's
SHA-256 (hex) is stored in ``user_tokens.token_hash`` (purpose ``activation``); ``/auth/activate`` hashes the
presented token the same way. The link is printed once to stdout and never logged.
"""

from __future__ import annotations

import argparse
import hashlib
import secrets
import sys
from dataclasses import dataclass
from typing import Any

import structlog
import trio

from algogrid.commands.bootstrap import EXIT_CONFIG, add_config_argument, load_or_report, servers_and_schema
from algogrid.settings import Settings
from storage import ServerUrls, open_storage

__all__ = ["ACTIVATION_TTL_HOURS", "activation_link", "hash_token", "register", "run"]

log = structlog.get_logger(__name__)

ACTIVATION_TTL_HOURS = 48
EXIT_EXISTS = 1


def hash_token(token: str) -> str:
    """Return the stored form of a one-time token: its SHA-256 as lower-case hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def activation_link(host: str, port: int, token: str) -> str:
    """Return the UI link that activates an account with ``token``."""
    return f"http://{host}:{port}/ui/#/activate?token={token}"


@dataclass(frozen=True, slots=True)
class _Created:
    user_id: str
    token: str
    reissued: bool


def register(subparsers: Any) -> None:
    """Add the ``create-admin`` sub-command."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "create-admin", help="create an admin user and print a one-time activation link (valid 48 h)"
    )
    add_config_argument(parser)
    parser.add_argument("--email", required=True, help="the admin's e-mail (login name)")
    parser.set_defaults(func=run)


async def _create(settings: Settings, urls: ServerUrls, email: str) -> _Created | None:
    token = secrets.token_urlsafe(32)
    async with open_storage(settings.storage, urls) as storage, storage.db.transaction() as conn:
        existing = await conn.fetchrow(
            "SELECT id, password_hash FROM users WHERE lower(email) = lower($1) FOR UPDATE", email
        )
        if existing is not None and existing["password_hash"] is not None:
            return None
        if existing is None:
            user_id = await conn.fetchval(
                "INSERT INTO users (email, role) VALUES ($1, 'admin') RETURNING id", email
            )
        else:  # created before but never activated: issue a fresh link, void the old ones
            user_id = existing["id"]
            await conn.execute(
                "UPDATE user_tokens SET used_at = now() WHERE user_id = $1 AND purpose = 'activation' "
                "AND used_at IS NULL",
                user_id,
            )
        await conn.execute(
            "INSERT INTO user_tokens (user_id, purpose, token_hash, expires_at) "
            "VALUES ($1, 'activation', $2, now() + make_interval(hours => $3))",
            user_id, hash_token(token), ACTIVATION_TTL_HOURS,
        )
        await conn.execute(
            "INSERT INTO audit_trail (actor_label, action, target_type, target_id, details) "
            "VALUES ('cli', 'user_created', 'user', $1, $2)",
            str(user_id), {"role": "admin", "reissued": existing is not None},
        )
    return _Created(str(user_id), token, existing is not None)


def run(args: argparse.Namespace) -> int:
    """Create the admin and print the link; exit 1 when an active user has that e-mail."""
    settings = load_or_report(args.config)
    if settings is None:
        return EXIT_CONFIG
    if "@" not in args.email[1:]:
        print(f"create-admin: expected an e-mail address, got {args.email!r}", file=sys.stderr)
        return EXIT_CONFIG
    with servers_and_schema(settings) as urls:
        created = trio.run(_create, settings, urls, args.email)
    if created is None:
        print(f"create-admin: a user with e-mail {args.email} already exists and is active", file=sys.stderr)
        return EXIT_EXISTS
    log.info("admin created", user_id=created.user_id, reissued=created.reissued)
    link = activation_link(settings.gateway.host, settings.gateway.port, created.token)
    print(f"Activation link (valid {ACTIVATION_TTL_HOURS} h, shown once): {link}")
    return 0
