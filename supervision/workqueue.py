"""`TrioWorkQueue`: hand work from an actor to trio without blocking; the result returns as a message.

An actor calls `submit(...)`, which appends to a bounded queue and, when the trio drainer is idle, wakes it
with `TrioToken.run_sync_soon`. The drainer (`nursery.start(queue.run)`) runs each job as a trio task, up
to `concurrency` at a time, and tells `on_result(value)` or `on_error(exc)` to `reply_to`. A full queue
raises `WorkQueueFull` to the actor at once (DESIGN §3: never block across the boundary).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
import trio

from supervision.errors import SupervisionError, WorkQueueClosed, WorkQueueFull
from supervision.ref import ChildRef

__all__ = ["TrioWorkQueue"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class _Job:
    fn: Callable[..., Awaitable[Any]]
    args: tuple[Any, ...]
    reply_to: ChildRef
    on_result: Callable[[Any], Any]
    on_error: Callable[[Exception], Any]


class TrioWorkQueue:
    """A bounded actor → trio hand-off queue.

    Args:
        maxsize: jobs waiting (not yet started) before `submit` raises `WorkQueueFull`.
        concurrency: jobs running at the same time in the trio task.
        name: a label for logs.
    """

    def __init__(self, *, maxsize: int = 1024, concurrency: int = 16, name: str = "work") -> None:
        if maxsize < 1 or concurrency < 1:
            raise ValueError(f"expected maxsize >= 1 and concurrency >= 1, got {maxsize} and {concurrency}")
        self._maxsize = maxsize
        self._concurrency = concurrency
        self._name = name
        self._lock = threading.Lock()
        self._jobs: deque[_Job] = deque()
        self._state = "new"
        self._token: trio.lowlevel.TrioToken | None = None
        self._idle: trio.Event | None = None

    def __len__(self) -> int:
        with self._lock:
            return len(self._jobs)

    def submit(
        self,
        fn: Callable[..., Awaitable[Any]],
        *args: Any,
        reply_to: ChildRef,
        on_result: Callable[[Any], Any],
        on_error: Callable[[Exception], Any],
    ) -> None:
        """Queue `await fn(*args)` for trio and return at once (safe from any thread).

        Raises:
            WorkQueueFull: `maxsize` jobs are already waiting.
            WorkQueueClosed: the drainer has finished.
        """
        job = _Job(fn, args, reply_to, on_result, on_error)
        with self._lock:
            if self._state == "closed":
                raise WorkQueueClosed(f"expected the {self._name} queue to be running, got closed")
            if len(self._jobs) >= self._maxsize:
                raise WorkQueueFull(
                    f"expected room in the {self._name} queue, got {self._maxsize} waiting jobs"
                )
            self._jobs.append(job)
            idle, self._idle = self._idle, None
            token = self._token
        if idle is not None and token is not None:
            try:
                token.run_sync_soon(idle.set)
            except trio.RunFinishedError as exc:
                raise WorkQueueClosed(
                    f"expected trio to run the {self._name} queue, got a finished run"
                ) from exc

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Drain the queue until cancelled; jobs still waiting then get `on_error(WorkQueueClosed)`."""
        with self._lock:
            if self._state != "new":
                raise SupervisionError(f"expected a new {self._name} queue, got one that is {self._state}")
            self._state = "running"
            self._token = trio.lowlevel.current_trio_token()
        limiter = trio.CapacityLimiter(self._concurrency)
        try:
            async with trio.open_nursery() as nursery:
                task_status.started()
                while True:
                    slot = object()
                    await limiter.acquire_on_behalf_of(slot)
                    job = await self._next()
                    nursery.start_soon(self._run_job, job, limiter, slot)
        finally:
            with self._lock:
                self._state = "closed"
                left, self._jobs = list(self._jobs), deque()
            for job in left:
                self._reply(
                    job, job.on_error, WorkQueueClosed(f"the {self._name} queue closed before the job ran")
                )

    async def _next(self) -> _Job:
        while True:
            with self._lock:
                if self._jobs:
                    return self._jobs.popleft()
                idle = self._idle = trio.Event()
            await idle.wait()

    async def _run_job(self, job: _Job, limiter: trio.CapacityLimiter, slot: object) -> None:
        try:
            try:
                result = await job.fn(*job.args)
            except Exception as exc:  # boundary: a job's failure goes back to the actor as a message
                self._reply(job, job.on_error, exc)
            else:
                self._reply(job, job.on_result, result)
        finally:
            limiter.release_on_behalf_of(slot)

    def _reply(self, job: _Job, build: Callable[[Any], Any], value: Any) -> None:
        try:
            job.reply_to.tell(build(value))
        except Exception:  # boundary: an undeliverable reply is logged, never raised into trio
            log.exception("work reply undeliverable", queue=self._name, reply_to=job.reply_to.path)
