"""Repository of the append-only audit trail (U-11, O-03): who did what to which target, when and from where.

``audit_trail`` refuses UPDATE, DELETE and TRUNCATE (a trigger, and no such grant for the ``algogrid_app``
role): rows are only ever appended. Most writers append through this repository; two write their rows inside
their own statement so the audit can never miss the change it records (``storage.kill_switch``: the trading
state and its row in one CTE) or read rows back (``storage.monitor``: today's halts). A request's
``AuditContext`` (user, IP, user agent, request and correlation ids) travels with every row it causes.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from storage.database import Connection, Database

__all__ = ["AuditContext", "AuditContextLike", "AuditRepository"]

_APPEND = """
INSERT INTO audit_trail (actor_label, action, target_type, target_id, details, actor_user_id, request_id,
                         correlation_id, ip, user_agent)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::inet, $10)
"""
_RECENT = """
SELECT id, at, actor_user_id, actor_label, action, target_type, target_id, details, request_id,
       ip::text AS ip, user_agent
FROM audit_trail WHERE ($1::uuid IS NULL OR actor_user_id = $1 OR target_id = $1::text)
ORDER BY id DESC LIMIT $2
"""
# The audit viewer's filters (U-11): the actor is a label, a user id or the acting user's e-mail; the action
# matches by prefix (``kill_switch`` finds ``kill_switch.set`` and ``kill_switch_requested``).
_SEARCH = """
SELECT a.id, a.at, a.actor_user_id, a.actor_label, u.email AS actor_email, a.action, a.target_type,
       a.target_id, a.details, host(a.ip) AS ip
FROM audit_trail a LEFT JOIN users u ON u.id = a.actor_user_id
WHERE ($1::text IS NULL OR a.actor_label = $1 OR a.actor_user_id::text = $1 OR lower(u.email) = lower($1))
  AND ($2::text IS NULL OR a.action LIKE replace(replace($2, '_', '\\_'), '%', '\\%') || '%')
  AND ($3::timestamptz IS NULL OR a.at >= $3)
  AND ($4::timestamptz IS NULL OR a.at < $4)
ORDER BY a.id DESC LIMIT $5 OFFSET $6
"""


class AuditContextLike(Protocol):
    """What a row records about the request that caused it (the gateway's request meta satisfies it)."""

    @property
    def actor_user_id(self) -> uuid.UUID | None: ...

    @property
    def ip(self) -> str | None: ...

    @property
    def user_agent(self) -> str | None: ...

    @property
    def request_id(self) -> str | None: ...

    @property
    def correlation_id(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class AuditContext:
    """Who acted and from where: the request's user (or None), address, user agent and ids (U-11, O-01)."""

    actor_user_id: uuid.UUID | None = None
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    correlation_id: str | None = None


class AuditRepository:
    """Append rows to ``audit_trail`` (and read a person's rows back for export).

    Args:
        db: the pool, or a transaction's connection (the row then commits or rolls back with it).
    """

    def __init__(self, db: Database | Connection) -> None:
        self._db = db

    async def append(
        self,
        action: str,
        details: Mapping[str, object] | None = None,
        *,
        actor: str | None = None,
        target_type: str | None = None,
        target_id: str | None = None,
        context: AuditContextLike | None = None,
    ) -> None:
        """Append one row (``at`` is the server's ``now()``; ``action`` is lower-case: ``user_created``).

        ``actor`` labels a non-person actor (``system``, ``cli``); with only a ``context`` the label is its
        user id.
        """
        ctx: AuditContextLike = context or AuditContext()
        if actor is not None:
            label = actor
        elif context is None:
            label = "system"
        else:
            label = str(ctx.actor_user_id) if ctx.actor_user_id is not None else "anonymous"
        await self._db.execute(
            _APPEND,
            label,
            action,
            target_type,
            target_id,
            dict(details or {}),
            ctx.actor_user_id,
            ctx.request_id,
            ctx.correlation_id,
            ctx.ip,
            (ctx.user_agent or None) and ctx.user_agent[:512],
        )

    async def recent(self, user_id: uuid.UUID | None = None, limit: int = 100) -> list[dict[str, object]]:
        """Return the newest rows (by or about ``user_id`` when given), newest first."""
        rows = await self._db.fetch(_RECENT, user_id, limit)
        return [dict(row) for row in rows]

    async def search(  # noqa: PLR0917 - the viewer's filters and its page
        self,
        actor: str | None,
        action: str | None,
        since: dt.datetime | None,
        until: dt.datetime | None,
        limit: int,
        offset: int,
    ) -> list[dict[str, object]]:
        """Return rows matching every given filter, newest first (``until`` excluded), one page of them.

        Args:
            actor: a label (``system``, ``cli``), a user id or the acting user's e-mail (any case).
            action: a prefix of the action (``config`` finds ``config_changed``).
        """
        rows = await self._db.fetch(_SEARCH, actor, action, since, until, limit, offset)
        return [dict(row) for row in rows]
