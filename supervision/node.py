"""The per-path cell behind a stable address: lifecycle state, current incarnation, and its message gate.

A `Node` outlives incarnations (and even restarts of its parent supervisor). The supervisor owns the state
changes; the child's own thread reports its exit; callers deliver through the gate:

- OPEN: messages go straight into the current incarnation's mailbox;
- HOLD: the child is starting or restarting; messages wait in a bounded buffer, in order, and are handed
  to the next incarnation (tells queued in a crashed mailbox are drained into the same buffer);
- CLOSED: the child is stopped, failed or removed; sending raises `ActorUnavailable`.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from enum import Enum
from queue import Empty, Queue
from typing import TYPE_CHECKING, Any, cast

import pykka
from pykka._envelope import Envelope  # pykka's mailbox item; re-routing keeps the sender's reply future
from pykka.messages import _ActorStop  # a stop request found in a dead mailbox is answered, not re-routed

from supervision.errors import ActorUnavailable
from supervision.spec import Spec, SupervisorSpec
from supervision.status import FailureInfo, Status, check_transition

if TYPE_CHECKING:
    from pykka._actor import ActorInbox

__all__ = ["Envelope", "Gate", "Node"]


class Gate(Enum):
    """Whether messages for a node are delivered, held or refused."""

    OPEN = "open"
    HOLD = "hold"
    CLOSED = "closed"


RECENT_RESTARTS = 10


def _queue(inbox: ActorInbox) -> Queue[Envelope[object]]:
    # pykka types the inbox as a minimal protocol; ThreadingActor's inbox is a queue.Queue.
    return cast("Queue[Envelope[object]]", inbox)


class Node:
    """Mutable record of one supervised child; every field is guarded by `lock`."""

    def __init__(
        self,
        path: str,
        spec: Spec,
        parent: str | None,
        hold_limit: int,
        on_change: Callable[[], None],
    ) -> None:
        self.path = path
        # Called after a lifecycle change, with the lock released (the tree re-checks "settled").
        self._on_change = on_change
        self.spec = spec
        self.parent = parent
        self.hold_limit = hold_limit
        self.lock = threading.Lock()
        self.status = Status.STOPPED
        self.incarnation = 0
        self.exited_incarnation = 0
        self.ref: pykka.ActorRef[Any] | None = None
        self.thread: threading.Thread | None = None
        self.gate = Gate.HOLD
        self.held: list[Envelope[object]] = []
        self.restarts = 0
        self.recent_restarts: deque[str] = deque(maxlen=RECENT_RESTARTS)
        self.last_failure: FailureInfo | None = None
        self.running_since: float | None = None
        self.handled = 0
        # Supervisors only: the current child specs, in start order (mutated by add/remove at run time).
        self.child_specs: list[Spec] = list(spec.children) if isinstance(spec, SupervisorSpec) else []

    @property
    def kind(self) -> str:
        """Return the metrics/ops label of this child."""
        return self.spec.kind

    @property
    def is_supervisor(self) -> bool:
        """Return True when this node is a supervisor."""
        return isinstance(self.spec, SupervisorSpec)

    def child_path(self, name: str) -> str:
        """Return the path of a child called `name`."""
        return f"{self.path}/{name}"

    # -- delivery (any thread) ---------------------------------------------------------------------------

    def deliver(self, envelope: Envelope[object]) -> None:
        """Put a message in the mailbox, hold it during a restart, or raise `ActorUnavailable`."""
        with self.lock:
            if self.gate is Gate.OPEN and self.ref is not None:
                self.ref.actor_inbox.put(envelope)
                return
            if self.gate is Gate.HOLD:
                if len(self.held) < self.hold_limit:
                    self.held.append(envelope)
                    return
                raise ActorUnavailable(
                    f"expected {self.path} to accept a message, got a full restart buffer "
                    f"({self.hold_limit} held while {self.status})"
                )
            status = self.status
        raise ActorUnavailable(f"expected {self.path} to be running, got {status}")

    def mailbox_depth(self) -> int:
        """Return queued plus held messages."""
        with self.lock:
            ref, held = self.ref, len(self.held)
        inbox = _queue(ref.actor_inbox).qsize() if ref is not None and ref.is_alive() else 0
        return inbox + held

    # -- lifecycle (supervisor thread, except mark_running/exited from the child's thread) ---------------

    def set_status(self, new: Status) -> None:
        """Change state under the lock, enforcing the state table."""
        with self.lock:
            self._set_status(new)
        self._on_change()

    def _set_status(self, new: Status) -> None:
        check_transition(self.path, self.status, new)
        self.status = new
        if new is not Status.RUNNING:
            self.running_since = None

    def begin_incarnation(self) -> int:
        """Enter STARTING with a new incarnation number; messages are held until `install`."""
        with self.lock:
            self._set_status(Status.STARTING)
            self.incarnation += 1
            self.thread = None
            if self.gate is Gate.CLOSED:
                self.gate = Gate.HOLD
            incarnation = self.incarnation
        self._on_change()
        return incarnation

    def install(self, incarnation: int, ref: pykka.ActorRef[Any]) -> None:
        """Make `ref` the current incarnation and flush held messages into its mailbox, in order."""
        with self.lock:
            if incarnation != self.incarnation:
                return
            self.ref = ref
            if self.exited_incarnation == incarnation:
                return  # it already died; keep holding for the next incarnation
            for envelope in self.held:
                ref.actor_inbox.put(envelope)
            self.held.clear()
            self.gate = Gate.OPEN

    def attach_thread(self, incarnation: int, thread: threading.Thread) -> None:
        """Remember the thread of an incarnation, for the watchdog."""
        with self.lock:
            if incarnation == self.incarnation:
                self.thread = thread

    def mark_running(self, incarnation: int, now: float) -> None:
        """Record that `on_start` of an incarnation succeeded."""
        with self.lock:
            if incarnation == self.incarnation and self.status is Status.STARTING:
                self._set_status(Status.RUNNING)
                self.running_since = now
        self._on_change()

    def exited(self, incarnation: int, inbox: ActorInbox) -> tuple[bool, list[Envelope[object]]]:
        """Record the end of an incarnation and drain its mailbox.

        Returns:
            (first, rejected): whether this is the first report of that incarnation's end, and the
            envelopes nobody will take (the node is closed or the incarnation is stale).
        """
        drained: list[Envelope[object]] = []
        with self.lock:
            current = incarnation == self.incarnation
            first = current and self.exited_incarnation != incarnation
            if current:
                self.exited_incarnation = incarnation
                if self.gate is Gate.OPEN:
                    self.gate = Gate.HOLD
            while True:
                try:
                    drained.append(_queue(inbox).get_nowait())
                except Empty:
                    break
            if current and self.gate is Gate.HOLD:
                # A pending stop request is answered (the incarnation is gone), never re-routed.
                stops = [e for e in drained if isinstance(e.message, _ActorStop)]
                mail = [e for e in drained if not isinstance(e.message, _ActorStop)]
                room = max(0, self.hold_limit - len(self.held))
                self.held[:0] = mail[:room]  # queued before anything held since: keep them first
                rejected = stops + mail[room:]
            else:
                rejected = drained
        self._on_change()
        return first, rejected

    def mark_exited(self, incarnation: int) -> None:
        """Record that an incarnation ended before it had a thread (its factory failed)."""
        with self.lock:
            if incarnation == self.incarnation:
                self.exited_incarnation = incarnation
                if self.gate is Gate.OPEN:
                    self.gate = Gate.HOLD
        self._on_change()

    def exit_pending(self) -> bool:
        """Return True when the current incarnation ended and its supervisor has not acted yet."""
        with self.lock:
            return self.exited_incarnation == self.incarnation and self.status in (
                Status.STARTING,
                Status.RUNNING,
            )

    def hold(self) -> None:
        """Hold new messages (the supervisor is about to restart this child)."""
        with self.lock:
            if self.gate is not Gate.CLOSED:
                self.gate = Gate.HOLD

    def close(self, status: Status) -> list[Envelope[object]]:
        """Refuse new messages, enter `status`, and return the held messages for rejection."""
        with self.lock:
            if self.status is not status:
                self._set_status(status)
            self.gate = Gate.CLOSED
            held, self.held = self.held, []
        self._on_change()
        return held

    def record_restart(self, at: str) -> None:
        """Count one restart at ISO time `at`."""
        with self.lock:
            self.restarts += 1
            self.recent_restarts.append(at)

    def record_failure(self, failure: FailureInfo) -> None:
        """Remember the latest failure."""
        with self.lock:
            self.last_failure = failure
