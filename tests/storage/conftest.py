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
