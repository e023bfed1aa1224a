"""Storage-room fixtures: an open ``Storage`` on this module's migrated database and a clean Redis db."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from storage import Storage, StorageConfig, open_storage


@pytest.fixture
def storage_config(migrated_db_url: str, redis_clean_url: str) -> StorageConfig:
    return StorageConfig(database_url=SecretStr(migrated_db_url), redis_url=SecretStr(redis_clean_url))


@pytest.fixture
async def storage(storage_config: StorageConfig) -> AsyncIterator[Storage]:
    async with open_storage(storage_config) as opened:
        yield opened


@pytest.fixture
async def risk_storage(storage: Storage) -> Storage:
    """``storage`` with the risk tables emptied and the trading state reset to ACTIVE for this test.

    ``audit_trail`` is append-only (TRUNCATE is refused by a trigger): tests read only their newest rows.
    """
    await storage.db.execute("TRUNCATE risk_denials, webhook_deliveries, positions, signals CASCADE")
    await storage.db.execute(  # the migration's seed row, restored even if a test deleted it
        "INSERT INTO kill_switch_state (id, trading_state, engaged, reason, changed_by_label, changed_at) "
        "VALUES (1, 'ACTIVE', false, NULL, 'system', now()) ON CONFLICT (id) DO UPDATE SET "
        "trading_state = 'ACTIVE', engaged = false, reason = NULL, changed_by_label = 'system', "
        "changed_at = now()"
    )
    return storage
