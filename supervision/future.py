"""A pykka future that can notify a callback when it is resolved (for the trio bridge)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import pykka
import structlog

__all__ = ["ReplyFuture"]

T = TypeVar("T")
log = structlog.get_logger(__name__)


class ReplyFuture(pykka.ThreadingFuture[T]):
    """A `pykka.ThreadingFuture` with `add_done_callback`.

    Callbacks run in the thread that resolves the future (usually an actor thread), after the value is
    stored. A callback that raises is logged and ignored: it must never break the actor that replies.
    """

    def __init__(self) -> None:
        super().__init__()
        self._callbacks: list[Callable[[ReplyFuture[T]], None]] = []
        self._done = False
        self._cb_lock = threading.Lock()

    def done(self) -> bool:
        """Return True once a value or an exception is set."""
        with self._cb_lock:
            return self._done

    def add_done_callback(self, callback: Callable[[ReplyFuture[T]], None]) -> None:
        """Call `callback(self)` once resolved; immediately, in this thread, if it already is."""
        with self._cb_lock:
            if not self._done:
                self._callbacks.append(callback)
                return
        self._run(callback)

    def set(self, value: Any | None = None) -> None:
        """Store the value, then run the callbacks."""
        super().set(value)
        self._fire()

    def set_exception(self, exc_info: Any = None) -> None:
        """Store the exception, then run the callbacks."""
        if exc_info is None:
            super().set_exception()
        else:
            super().set_exception(exc_info)
        self._fire()

    def _fire(self) -> None:
        with self._cb_lock:
            self._done = True
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            self._run(callback)

    def _run(self, callback: Callable[[ReplyFuture[T]], None]) -> None:
        try:
            callback(self)
        except Exception:  # boundary: a waiter's bug must not crash the replying actor
            log.exception("future callback failed")
