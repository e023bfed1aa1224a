"""What every per-symbol actor is given at start: the shared ports plus a late-bound path resolver.

Child factories are built before the supervision tree exists, but they only run after it started; the
``RefResolver`` is bound to the tree once it is up, and actors resolve sibling and risk addresses through
it in ``on_start`` (addresses are path-based ``ChildRef``s, stable across restarts).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from actors.errors import EngineError, WorkRejectedError
from actors.messages import MessageSink
from actors.paths import RISK
from actors.ports import BarHistory, Job, MarketStore, RiskGate, SignalPublisher, SnapshotSource, WorkQueue
from supervision import TrioWorkQueue, WorkQueueClosed, WorkQueueFull

if TYPE_CHECKING:
    from actors.market_metrics import MarketMetrics
    from actors.position.deps import PositionDeps

__all__ = ["LazySink", "RefResolver", "SymbolDeps", "TrioWorkPort"]


class RefResolver:
    """Resolve a tree path to a ``MessageSink``; bound to the tree's ``ref`` once the tree exists."""

    def __init__(self) -> None:
        self._ref: Callable[[str], MessageSink] | None = None

    def bind(self, ref: Callable[[str], MessageSink]) -> None:
        """Bind the resolver to a tree (``tree.ref``)."""
        self._ref = ref

    def __call__(self, path: str) -> MessageSink:
        """Return the address of ``path``.

        Raises:
            EngineError: the resolver is not bound yet.
        """
        if self._ref is None:
            raise EngineError(f"expected the supervision tree to be bound before resolving {path!r}")
        return self._ref(path)


class LazySink:
    """A ``MessageSink`` resolved by path on first ``tell`` (siblings may register after the sender)."""

    __slots__ = ("_path", "_resolve", "_sink")

    def __init__(self, resolve: RefResolver, path: str) -> None:
        self._resolve = resolve
        self._path = path
        self._sink: MessageSink | None = None

    def __repr__(self) -> str:
        return f"LazySink({self._path!r})"

    def tell(self, message: object) -> None:
        """Resolve once, then tell (errors of the target ref propagate unchanged)."""
        sink = self._sink
        if sink is None:
            sink = self._sink = self._resolve(self._path)
        sink.tell(message)


def _same(value: object) -> object:
    return value


class TrioWorkPort:
    """The ``WorkQueue`` port on the supervision library's ``TrioWorkQueue``.

    The job's return value is the reply message itself; a full or closed queue raises ``WorkRejectedError``
    in the submitting actor (which crashes and is restarted: the queue is sized so that this means overload).
    """

    def __init__(self, queue: TrioWorkQueue) -> None:
        self.queue = queue

    def submit(self, job: Job, reply_to: MessageSink, on_error: Callable[[Exception], object]) -> None:
        """Queue ``job``; its result (a message) is told to ``reply_to``."""
        try:
            self.queue.submit(job, reply_to=reply_to, on_result=_same, on_error=on_error)  # type: ignore[arg-type]
        except (WorkQueueFull, WorkQueueClosed) as exc:
            raise WorkRejectedError(f"expected the work queue to accept a job, got {exc}") from exc


@dataclass(frozen=True, slots=True, kw_only=True)
class SymbolDeps:
    """Ports shared by every symbol's actors (one instance per engine); tunables are ``PipelineConfig``."""

    resolve: RefResolver
    work: WorkQueue
    store: MarketStore
    snapshots: SnapshotSource
    publisher: SignalPublisher
    risk: RiskGate | None = None
    positions: PositionDeps | None = None  # with it (and an ExecutionConfig) each tree gets a PositionActor
    history: BarHistory | None = None  # REST bars for gap repair (D-02); without it a hole is marked missing
    market_metrics: MarketMetrics | None = None  # holes, repairs, skipped signals (D-02)

    def risk_gate(self) -> RiskGate:
        """Return the risk gate: the explicit one if given, else the RiskActor at ``root/risk``."""
        if self.risk is not None:
            return self.risk
        return LazySink(self.resolve, RISK)
