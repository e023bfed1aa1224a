"""An asyncio background error inside the storage loop is logged, not raised into whoever closes storage."""

from __future__ import annotations

import asyncio
import gc

import pytest
import structlog

from storage.aio import open_bridge


async def _drop_a_failed_future() -> None:
    future = asyncio.get_running_loop().create_future()
    future.set_exception(ConnectionError("unexpected connection_lost() call"))
    del future  # never retrieved: asyncio reports it to the loop's exception handler when collected
    gc.collect()


async def test_an_unretrieved_future_error_is_logged_and_the_bridge_closes_cleanly() -> None:
    with structlog.testing.capture_logs() as logs:
        async with open_bridge() as bridge:
            await bridge.run(_drop_a_failed_future)
    reported = [e for e in logs if e["event"] == "asyncio background error"]
    assert reported, logs
    assert reported[0]["error_type"] == "ConnectionError"


async def test_an_awaited_error_still_reaches_its_caller() -> None:
    async def fail() -> None:
        raise ConnectionError("refused")

    async with open_bridge() as bridge:
        with pytest.raises(ConnectionError, match="refused"):
            await bridge.run(fail)
