"""Repository of the append-only audit trail (U-11, O-03): who did what to which target, and when.

``audit_trail`` refuses UPDATE, DELETE and TRUNCATE (a trigger): rows are only ever appended. Most writers
append through this repository; two write their rows inside their own statement so the audit can never miss
the change it records (``storage.kill_switch``: the trading state and its row in one CTE) or read rows back
(``storage.monitor``: today's halts).
"""

from __future__ import annotations

from collections.abc import Mapping

from storage.database import Connection, Database

__all__ = ["AuditRepository"]

_APPEND = """
INSERT INTO audit_trail (actor_label, action, target_type, target_id, details)
VALUES ($1, $2, $3, $4, $5)
"""


class AuditRepository:
    """Append rows to ``audit_trail``.

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
        actor: str = "system",
        target_type: str | None = None,
        target_id: str | None = None,
    ) -> None:
        """Append one row (``at`` is the server's ``now()``; ``action`` is lower-case: ``user_created``)."""
        await self._db.execute(_APPEND, actor, action, target_type, target_id, dict(details or {}))
