"""Backstop for deaths nobody reported: a thread that ended while its node still says it runs."""

from __future__ import annotations

import threading

import structlog

from supervision.runtime import Runtime
from supervision.status import Exit, ExitReason, FailureInfo, Status

__all__ = ["Watchdog"]

log = structlog.get_logger(__name__)


class Watchdog:
    """Sweep every node on an interval (real time) and report silently dead incarnations as VANISHED."""

    def __init__(self, runtime: Runtime, interval: float | None) -> None:
        self._runtime = runtime
        self._interval = interval
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the sweeping thread (a no-op when the interval is None)."""
        if self._interval is None:
            return
        self._thread = threading.Thread(target=self._run, name="supervision-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop and join the sweeping thread."""
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    def _run(self) -> None:
        assert self._interval is not None
        while not self._stopping.wait(self._interval):
            try:
                self.sweep()
            except Exception:  # boundary: the backstop must keep sweeping
                log.exception("watchdog sweep failed")

    def sweep(self) -> int:
        """Report every silently dead incarnation once; return how many were found."""
        found = 0
        for node in self._runtime.nodes():
            with node.lock:
                thread, ref, incarnation = node.thread, node.ref, node.incarnation
                suspect = (
                    node.status in (Status.STARTING, Status.RUNNING)
                    and node.exited_incarnation != incarnation
                    and thread is not None
                    and not thread.is_alive()
                )
            if not suspect or ref is None:
                continue
            first, rejected = node.exited(incarnation, ref.actor_inbox)
            self._runtime.reject(node, rejected)
            if not first:
                continue
            found += 1
            log.warning("silent actor death found", path=node.path, incarnation=incarnation)
            failure = FailureInfo(
                type="ThreadDied",
                message=f"thread {thread.name if thread else '?'} ended without reporting",
                traceback=(),
                at=self._runtime.clock.now(),
            )
            self._runtime.report_exit(node, incarnation, Exit(ExitReason.VANISHED, failure))
        return found
