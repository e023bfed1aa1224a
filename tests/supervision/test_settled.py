"""Waiting for a settled tree: the change that settles it wakes the waiter; nobody polls."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import trio
import trio.testing

from supervision import ChildSpec, ManualClock, Status, SupervisedActor, SupervisionTree, TrioBridge
from tests.supervision.sup_kit import Boom, actor_threads, restarted, running_tree, sup, worker
from tests.support import eventually


class SlowStart(SupervisedActor):
    """An actor whose `on_start` waits (real time, bounded) until the test opens `gate`."""

    def __init__(self, gate: threading.Event) -> None:
        super().__init__()
        self.gate = gate

    def on_start(self) -> None:
        self.gate.wait(10.0)


@contextmanager
def slow_tree(gate: threading.Event) -> Iterator[SupervisionTree]:
    """Start a tree whose only child is still in `on_start` until `gate` opens; stop it without leaks."""
    before = actor_threads()
    spec = sup("root", ChildSpec("slow", lambda: SlowStart.start(gate)))
    tree = SupervisionTree.start(spec, clock=ManualClock(), watchdog_interval=None)
    try:
        yield tree
    finally:
        gate.set()
        tree.stop(timeout=10.0)
        eventually(lambda: actor_threads() <= before, message="no leaked threads")


def counting_settled(tree: SupervisionTree) -> Callable[[], int]:
    """Count every "settled" check the tree makes from now on; return a reader of the count."""
    runtime = tree._runtime
    original = runtime.settled
    calls = 0

    def counted() -> bool:
        nonlocal calls
        calls += 1
        return original()

    runtime.settled = counted  # type: ignore[method-assign]
    return lambda: calls


async def test_wait_settled_returns_once_a_child_finished_its_async_start() -> None:
    gate = threading.Event()
    with slow_tree(gate) as tree:
        bridge = TrioBridge()
        results: list[bool] = []

        async def waiter() -> None:
            results.append(await bridge.wait_settled(tree, timeout=10.0))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(waiter)
            await trio.testing.wait_all_tasks_blocked()
            assert results == []
            assert not tree.settled()
            assert tree.ref("root/slow").status is Status.STARTING
            gate.set()
        assert results == [True]
        assert tree.ref("root/slow").status is Status.RUNNING
        assert tree._runtime._waiters == []


async def test_wait_settled_times_out_on_trio_time_without_polling(
    autojump_clock: trio.testing.MockClock,
) -> None:
    gate = threading.Event()
    with slow_tree(gate) as tree:
        bridge = TrioBridge()
        checks = counting_settled(tree)
        start = trio.current_time()
        assert await bridge.wait_settled(tree, timeout=5.0) is False
        assert trio.current_time() - start >= 5.0
        assert checks() <= 2  # the registration check only; a 10 ms poll would have made ~500
        assert tree._runtime._waiters == []  # a timed-out waiter is forgotten
        assert tree.ref("root/slow").status is Status.STARTING


async def test_wait_settled_returns_at_once_for_a_settled_tree() -> None:
    with running_tree(sup("root", worker("w", []))) as tree:
        bridge = TrioBridge()
        with trio.fail_after(5):
            assert await bridge.wait_settled(tree, timeout=5.0) is True


def test_on_settled_fires_once_after_a_restart_and_not_after_cancel() -> None:
    with running_tree(sup("root", worker("w", []))) as tree:
        fired: list[str] = []
        tree.on_settled(lambda: fired.append("now"))
        assert fired == ["now"]  # already settled: at once, in this thread

        gate = threading.Event()
        tree.add_child("root", ChildSpec("slow", lambda: SlowStart.start(gate)))
        cancelled = tree.on_settled(lambda: fired.append("cancelled"))
        cancelled.cancel()
        tree.on_settled(lambda: fired.append("settled"))
        assert fired == ["now"]
        gate.set()
        eventually(lambda: fired == ["now", "settled"], message="waiter fired once the child started")

        tree.ref("root/w").tell(Boom())
        eventually(restarted(tree, "root/w", 1))
        assert fired == ["now", "settled"]  # a waiter fires once, never again


def test_a_failing_settled_callback_is_logged_and_others_still_fire() -> None:
    gate = threading.Event()
    with slow_tree(gate) as tree:
        fired: list[str] = []

        def broken() -> None:
            raise RuntimeError("waiter bug")

        tree.on_settled(broken)
        tree.on_settled(lambda: fired.append("ok"))
        gate.set()
        eventually(lambda: fired == ["ok"], message="second waiter fired")
        assert tree.ref("root/slow").status is Status.RUNNING


@pytest.fixture
def autojump_clock() -> trio.testing.MockClock:
    # Virtual time jumps only when trio is idle; the actor thread is parked on `gate`, so nothing is faked.
    return trio.testing.MockClock(autojump_threshold=0)
