"""A small recording actor standing at ``root/symbols/<SYM>/position`` in a real engine's tree.

The wiring tests need to see exactly what the engine routes to the PositionActor's path. ``add_recorder``
stops the symbol's real PositionActor and puts a recorder at the same path under the symbol's supervisor (at
run time, through the engine's ``TrioBridge``), so the router, the private session and the monitor address it
exactly as they address the real PositionActor: by path, with a ``ChildRef``. What the PositionActor does with
those messages is proven in ``tests/position/``; that the real one receives them in the running engine, in
``test_engine_private_wiring.py``.
"""

from __future__ import annotations

import threading
from typing import Any, TypeVar

from actors import position_path, symbol_path
from actors.paths import POSITION
from algogrid.engine import Engine
from supervision import ChildSpec, SupervisedActor

T = TypeVar("T")


class Journal:
    """What a recorder received, readable from the test thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[object] = []

    def add(self, message: object) -> None:
        with self._lock:
            self._messages.append(message)

    def of(self, kind: type[T]) -> list[T]:
        """Return the messages of type ``kind``, in arrival order."""
        with self._lock:
            return [m for m in self._messages if isinstance(m, kind)]


class RecordingActor(SupervisedActor):
    """Records every message it is told."""

    def __init__(self, journal: Journal) -> None:
        super().__init__()
        self._journal = journal

    def handle(self, message: Any) -> None:
        self._journal.add(message)


async def add_recorder(engine: Engine, symbol: str, timeout_s: float = 10.0) -> Journal:
    """Replace the PositionActor at ``position_path(symbol)`` by a recorder; return its journal."""
    journal = Journal()
    await engine.bridge.remove_child(engine.tree, position_path(symbol), timeout=timeout_s)
    spec = ChildSpec(POSITION, lambda: RecordingActor.start(journal), kind="position")
    ref = await engine.bridge.add_child(engine.tree, symbol_path(symbol), spec, timeout=timeout_s)
    assert ref.path == position_path(symbol)
    return journal
