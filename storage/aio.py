"""The one place where trio awaits asyncio: a ``trio_asyncio`` loop runs asyncpg and redis.asyncio.

Callers stay in trio; every asyncio coroutine is created *inside* the asyncio loop (so libraries that look up
the running loop in constructors work) and awaited from trio with ``run_aio_coroutine``. Cancelling the trio
caller cancels the asyncio task.

Background errors (an asyncio future whose exception nobody retrieved, e.g. asyncpg's ``connection_lost``
on a connection torn down while the pool closes) are logged, as plain asyncio does: trio_asyncio's default
handler would instead re-raise them into the loop's nursery and fail whoever closes storage. Errors of awaited
calls are unaffected: they reach their caller.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import structlog
import trio_asyncio

__all__ = ["AioBridge", "open_bridge"]

T = TypeVar("T")

log = structlog.get_logger(__name__)


class AioBridge:
    """Run asyncio coroutine functions on one ``trio_asyncio`` loop from any trio task."""

    def __init__(self, loop: Any) -> None:
        self._loop = loop

    async def run(self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """Await ``fn(*args, **kwargs)`` inside the asyncio loop and return its result."""

        async def call() -> T:
            return await fn(*args, **kwargs)

        result: T = await self._loop.run_aio_coroutine(call())
        return result


@asynccontextmanager
async def open_bridge() -> AsyncIterator[AioBridge]:
    """Yield a bridge on the caller's ``trio_asyncio`` loop, or on a loop opened (and closed) here."""
    loop = trio_asyncio.current_loop.get()
    if loop is not None:
        yield AioBridge(loop)
        return
    async with trio_asyncio.open_loop() as new_loop:
        new_loop.set_exception_handler(_log_background_error)
        yield AioBridge(new_loop)


def _log_background_error(loop: Any, context: dict[str, Any]) -> None:
    """Log an asyncio background error instead of raising it into the loop's nursery."""
    exc = context.get("exception")
    log.warning(
        "asyncio background error",
        message=context.get("message"),
        error_type=type(exc).__name__ if exc is not None else None,
        error=str(exc) if exc is not None else None,
    )
