"""Poll a condition until it holds, instead of sleeping in tests (STYLE.md §15).

``eventually`` is for synchronous code and threads; ``eventually_async`` for trio code. Both measure the
timeout on the real monotonic clock, so they also work under ``trio.testing.MockClock`` when the awaited
event comes from another thread or process.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import trio

__all__ = ["eventually", "eventually_async"]

T = TypeVar("T")


def _failure(timeout: float, last: object, message: str | None) -> AssertionError:
    what = message or "condition"
    return AssertionError(f"{what} not met within {timeout:.2f} s; last result: {last!r}")


def eventually(
    predicate: Callable[[], T], timeout: float = 5.0, interval: float = 0.01, message: str | None = None
) -> T:
    """Call ``predicate`` until it returns a truthy value and return that value.

    An ``AssertionError`` or any other exception raised by the predicate counts as "not yet"; the last one is
    chained to the final ``AssertionError`` when the timeout expires.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    last_exc: BaseException | None = None
    while True:
        try:
            last = predicate()
            last_exc = None
            if last:
                return last
        except Exception as exc:  # the predicate may assert or fail transiently; retry until timeout
            last, last_exc = exc, exc
        if time.monotonic() >= deadline:
            raise _failure(timeout, last, message) from last_exc
        time.sleep(interval)


async def eventually_async(
    predicate: Callable[[], T | Awaitable[T]],
    timeout: float = 5.0,  # noqa: ASYNC109 - a poll deadline on the real clock, not a cancellation timeout
    interval: float = 0.01,
    message: str | None = None,
) -> T:
    """Await (or call) ``predicate`` until it returns a truthy value and return that value.

    ``predicate`` may be a plain function or an async function; trio checkpoints between attempts.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    last_exc: BaseException | None = None
    while True:
        try:
            result = predicate()
            value: T = await result if inspect.isawaitable(result) else result  # type: ignore[assignment]
            last, last_exc = value, None
            if value:
                return value
        except Exception as exc:  # the predicate may assert or fail transiently; retry until timeout
            last, last_exc = exc, exc
        if time.monotonic() >= deadline:
            raise _failure(timeout, last, message) from last_exc
        await trio.sleep(interval)
