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

import structlog
import trio

from algogrid.commands import Subparsers
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


def register(subparsers: Subparsers) -> None:
    """Add the ``create-admin`` sub-command."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "create-admin", help="create an admin user and print a one-time activation link (valid 48 h)"
    )
    add_config_argument(parser)
    parser.add_argument("--email", required=True, help="the admin's e-mail (login name)")
    parser.set_defaults(func=run)


async def _create(settings: Settings, urls: ServerUrls, email: str) -> _Created | None:
    token = secrets.token_urlsafe(32)
    async with open_storage(settings.storage, urls) as storage:
        # an unactivated user with that e-mail gets a fresh link (the old ones are voided)
        issued = await storage.users.issue_admin_activation(
            email, hash_token(token), ttl_hours=ACTIVATION_TTL_HOURS, actor="cli"
        )
    if issued is None:
        return None
    return _Created(str(issued.user_id), token, issued.reissued)


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
