"""Repository of ``PATCH /config`` overrides (O-02): one JSON object per settings section, audited.

The gateway validates a change against the settings model before it reaches this repository; ``algogrid
run`` applies the stored overrides at start-up (``algogrid.admin_wiring.apply_overrides``).
"""

from __future__ import annotations

import uuid
from typing import Any

from storage.audit import AuditContextLike, AuditRepository
from storage.database import Database

__all__ = ["RuntimeConfigRepository"]

_ALL = "SELECT section, value FROM runtime_config ORDER BY section"
_UPSERT = (
    "INSERT INTO runtime_config (section, value, updated_by) VALUES ($1, $2, $3) "
    "ON CONFLICT (section) DO UPDATE SET value = EXCLUDED.value, updated_by = EXCLUDED.updated_by, "
    "updated_at = now()"
)


class RuntimeConfigRepository:
    """Explicit SQL over ``runtime_config``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def load(self) -> dict[str, dict[str, Any]]:
        """Return every stored override by section."""
        return {row["section"]: dict(row["value"]) for row in await self._db.fetch(_ALL)}

    async def save(
        self,
        section: str,
        value: dict[str, Any],
        changed: dict[str, Any],
        *,
        by: uuid.UUID | None,
        context: AuditContextLike,
    ) -> None:
        """Store ``section``'s overrides and write ``config_changed`` with the changed keys, in one go."""
        async with self._db.transaction() as conn:
            await conn.execute(_UPSERT, section, value, by)
            await AuditRepository(conn).append(
                "config_changed",
                {"section": section, "changed": changed},
                target_type="config",
                target_id=section,
                context=context,
            )
