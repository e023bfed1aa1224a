"""What every per-symbol actor is given at start: the shared ports plus a late-bound path resolver.

Child factories are built before the supervision tree exists, but they only run after it started; the
``RefResolver`` is bound to the tree once it is up, and actors resolve sibling and risk addresses through
it in ``on_start`` (addresses are path-based ``ChildRef``s, stable across restarts).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from actors.errors import EngineError
from actors.messages import MessageSink
from actors.ports import MarketStore, RiskGate, SignalPublisher, SnapshotSource, WorkQueue

__all__ = ["RefResolver", "SymbolDeps", "sibling_path"]


def sibling_path(path: str, name: str) -> str:
    """Return the path of sibling ``name`` of the actor at ``path`` (``a/b/feed`` → ``a/b/<name>``)."""
    parent, _, _ = path.rpartition("/")
    return f"{parent}/{name}"


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


@dataclass(frozen=True, slots=True, kw_only=True)
class SymbolDeps:
    """Ports shared by every symbol's actors (one instance per engine)."""

    resolve: RefResolver
    work: WorkQueue
    store: MarketStore
    snapshots: SnapshotSource
    publisher: SignalPublisher
    risk: RiskGate | None = None
    risk_path: str = "root/risk"

    def risk_gate(self) -> RiskGate:
        """Return the risk gate: the explicit one if given, else the actor at ``risk_path``."""
        if self.risk is not None:
            return self.risk
        return self.resolve(self.risk_path)
