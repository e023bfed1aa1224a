"""`ChildRef`: a stable address by path that survives restarts (DESIGN §4).

Delivery rule (chosen and tested): while the child is starting or restarting, messages are held in a
bounded per-child buffer and delivered, in order, to the next incarnation; tells that were queued in a
crashed mailbox are drained into the same buffer (re-routed, not dropped). An ask therefore waits at most
its own timeout (`AskTimeout`). When the child is stopped, failed, removed or its buffer is full, sending
raises `ActorUnavailable` at once, and anything still held is rejected: held asks fail with
`ActorUnavailable`, held tells are counted and logged as dead letters. Nothing is lost silently, and
`tell` never blocks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, overload

import pykka

from supervision.asks import Ask
from supervision.errors import ActorUnavailable, AskTimeout
from supervision.future import ReplyFuture
from supervision.node import Envelope
from supervision.status import Status

if TYPE_CHECKING:
    from supervision.runtime import Runtime

__all__ = ["ChildRef"]

T = TypeVar("T")


class ChildRef:
    """Address of a supervised child by path; cheap to copy, safe from any thread."""

    __slots__ = ("_runtime", "path")

    def __init__(self, runtime: Runtime, path: str) -> None:
        self._runtime = runtime
        self.path = path

    def __repr__(self) -> str:
        return f"ChildRef({self.path!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ChildRef) and other.path == self.path and other._runtime is self._runtime

    def __hash__(self) -> int:
        return hash(self.path)

    def _deliver(self, envelope: Envelope[object]) -> None:
        node = self._runtime.find(self.path)
        if node is None:
            raise ActorUnavailable(f"expected a child at {self.path}, got none (removed or never added)")
        node.deliver(envelope)

    def tell(self, message: object) -> None:
        """Send without waiting.

        Raises:
            ActorUnavailable: the child is stopped, failed, removed, or its restart buffer is full.
        """
        self._deliver(Envelope(message))

    @overload
    def ask_future(self, message: Ask[T]) -> ReplyFuture[T]: ...
    @overload
    def ask_future(self, message: object) -> ReplyFuture[Any]: ...
    def ask_future(self, message: object) -> ReplyFuture[Any]:
        """Send and return a future of the reply (non-blocking; supports `add_done_callback`).

        Raises:
            ActorUnavailable: as for `tell`; later failures arrive through the future.
        """
        future: ReplyFuture[Any] = ReplyFuture()
        self._deliver(Envelope(message, reply_to=future))
        return future

    @overload
    def ask(self, message: Ask[T], timeout: float = 5.0) -> T: ...
    @overload
    def ask(self, message: object, timeout: float = 5.0) -> Any: ...
    def ask(self, message: object, timeout: float = 5.0) -> Any:
        """Send and block for the reply; never call it from the trio thread (use `TrioBridge.ask`).

        Raises:
            AskTimeout: no reply within `timeout` seconds.
            ActorUnavailable: the child is not available, or stopped before handling the message.
            Exception: whatever the child's handler raised (pykka ask semantics; the child keeps running).
        """
        future = self.ask_future(message)
        try:
            return future.get(timeout=timeout)
        except pykka.Timeout as exc:
            raise AskTimeout(f"expected a reply from {self.path} within {timeout}s, got none") from exc
        except pykka.ActorDeadError as exc:
            raise ActorUnavailable(f"expected {self.path} to handle the ask, got a stopped actor") from exc

    @property
    def status(self) -> Status:
        """Return the child's current lifecycle state (STOPPED when it is not registered)."""
        node = self._runtime.find(self.path)
        return Status.STOPPED if node is None else node.status

    @property
    def incarnation(self) -> int:
        """Return how many times the child was started (0 when it is not registered)."""
        node = self._runtime.find(self.path)
        return 0 if node is None else node.incarnation
