"""Stopping a tree stops children in reverse order with per-child timeouts and leaves no thread behind."""

from __future__ import annotations

import threading

from supervision import ChildSpec, SupervisionTree
from tests.supervision.sup_kit import Block, Worker, actor_threads, sup, worker
from tests.support import eventually


def test_stop_runs_in_reverse_start_order_depth_first_and_leaks_no_thread() -> None:
    events: list[tuple[str, str]] = []
    before = actor_threads()
    spec = sup(
        "root", worker("a", events), sup("mid", worker("b", events), worker("c", events)), worker("d", events)
    )
    tree = SupervisionTree.start(spec, watchdog_interval=0.05)
    eventually(tree.settled)
    assert len(actor_threads() - before) >= 6
    events.clear()
    tree.stop(timeout=10)
    assert [p for kind, p in events if kind == "stop"] == ["root/d", "root/mid/c", "root/mid/b", "root/a"]
    assert actor_threads() <= before
    assert tree.snapshot()["status"] == "stopped"
    tree.stop()  # idempotent


def test_a_child_stuck_past_its_shutdown_timeout_is_abandoned_not_waited_for() -> None:
    events: list[tuple[str, str]] = []
    release = threading.Event()
    stuck = ChildSpec("stuck", lambda: Worker.start(events), shutdown_timeout=0.1)
    tree = SupervisionTree.start(sup("root", stuck, worker("after", events)), watchdog_interval=None)
    eventually(tree.settled)
    tree.ref("root/stuck").tell(Block(release))
    events.clear()
    try:
        tree.stop(timeout=0.5)
        assert ("stop", "root/after") in events  # the others were still stopped
        assert ("stop", "root/stuck") not in events
    finally:
        release.set()
    eventually(lambda: ("stop", "root/stuck") in events)
