"""The trio bridge: asks awaited without blocking trio; work handed to trio comes back as messages."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import pytest
import trio
import trio.lowlevel
import trio.testing

from supervision import (
    ActorUnavailable,
    AskTimeout,
    ChildRef,
    ChildSpec,
    Restart,
    SupervisedActor,
    TrioBridge,
    TrioWorkQueue,
    WorkQueueClosed,
    WorkQueueFull,
)
from tests.supervision.sup_kit import Boom, Halt, Ping, actor_threads, running_tree, status_of, sup, worker
from tests.support import eventually, eventually_async


async def test_ask_from_trio_returns_the_reply_and_errors() -> None:
    with running_tree(sup("root", worker("w", []))) as tree:
        bridge = TrioBridge()
        ref = tree.ref("root/w")
        assert (await bridge.ask(ref, Ping(), timeout=5))[0] == "root/w"
        with pytest.raises(ValueError, match="boom"):
            await bridge.ask(ref, Boom(), timeout=5)


async def test_ask_from_trio_times_out_on_trio_time_without_blocking_trio() -> None:
    with running_tree(sup("root", worker("w", []))) as tree:
        bridge = TrioBridge()
        tree.faults.delay_next("root/w", 10.0)
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await trio.sleep(0.001)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(ticker)
            with pytest.raises(AskTimeout):
                await bridge.ask(tree.ref("root/w"), Ping(), timeout=0.1)
            nursery.cancel_scope.cancel()
        assert ticks > 5  # trio kept running while the actor was stuck
        tree.faults.clear()


async def test_a_cancelled_ask_leaves_trio_and_the_actor_healthy() -> None:
    with running_tree(sup("root", worker("w", []))) as tree:
        bridge = TrioBridge()
        tree.faults.delay_next("root/w", 10.0)
        with trio.move_on_after(0.05) as scope:
            await bridge.ask(tree.ref("root/w"), Ping(), timeout=5)
        assert scope.cancelled_caught
        tree.faults.clear()
        assert (await bridge.ask(tree.ref("root/w"), Ping(), timeout=5))[0] == "root/w"


async def test_ask_to_a_stopped_child_raises_actor_unavailable() -> None:
    with running_tree(sup("root", worker("w", [], restart=Restart.TRANSIENT))) as tree:
        bridge = TrioBridge()
        tree.ref("root/w").tell(Halt())
        await eventually_async(lambda: status_of(tree, "root/w") == "stopped")
        with pytest.raises(ActorUnavailable):
            await bridge.ask(tree.ref("root/w"), Ping(), timeout=5)


async def test_add_remove_and_stop_tree_from_trio() -> None:
    before = actor_threads()
    from supervision import ManualClock, SupervisionTree

    tree = SupervisionTree.start(sup("root"), clock=ManualClock(), watchdog_interval=None)
    bridge = TrioBridge()
    ref = await bridge.add_child(tree, "root", worker("w", []), timeout=5)
    assert (await bridge.ask(ref, Ping(), timeout=5))[0] == "root/w"
    await bridge.remove_child(tree, "root/w", timeout=5)
    await bridge.stop_tree(tree, timeout=5)
    await eventually_async(lambda: actor_threads() <= before)


# -- actor -> trio hand-off ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fetch:
    value: int
    fail: bool = False


@dataclass(frozen=True)
class Fetched:
    value: int


@dataclass(frozen=True)
class FetchFailed:
    error: str


@dataclass(frozen=True)
class Results:
    pass


class Requester(SupervisedActor):
    """Hands I/O to trio and gets the outcome back as a message (never blocks)."""

    def __init__(self, queue: TrioWorkQueue) -> None:
        super().__init__()
        self.queue = queue
        self.seen: list[Any] = []
        self.actor_thread: threading.Thread | None = None

    def on_start(self) -> None:
        self.actor_thread = threading.current_thread()

    def handle(self, message: Any) -> Any:
        if isinstance(message, Fetch):
            try:
                self.queue.submit(
                    io_call,
                    message.value,
                    message.fail,
                    reply_to=self.self_ref,
                    on_result=Fetched,
                    on_error=lambda e: FetchFailed(str(e)),
                )
            except (WorkQueueFull, WorkQueueClosed) as exc:
                self.seen.append(type(exc).__name__)
            return None
        if isinstance(message, (Fetched, FetchFailed)):
            self.seen.append(message)
            return None
        if isinstance(message, Results):
            return list(self.seen)
        return super().handle(message)


async def io_call(value: int, fail: bool) -> int:
    await trio.lowlevel.checkpoint()
    if fail:
        raise ConnectionError(f"no route for {value}")
    return value * 10


async def test_work_handed_to_trio_comes_back_as_messages() -> None:
    queue = TrioWorkQueue(maxsize=100)
    async with trio.open_nursery() as nursery:
        await nursery.start(queue.run)
        with running_tree(sup("root", ChildSpec("req", lambda: Requester.start(queue)))) as tree:
            ref: ChildRef = tree.ref("root/req")
            for i in range(20):
                ref.tell(Fetch(i, fail=(i == 3)))
            bridge = TrioBridge()

            async def all_back() -> bool:
                return len(await bridge.ask(ref, Results(), timeout=5)) == 20

            await eventually_async(all_back)
            seen = await bridge.ask(ref, Results(), timeout=5)
            assert Fetched(50) in seen
            assert FetchFailed("no route for 3") in seen
        nursery.cancel_scope.cancel()


async def test_a_full_queue_fails_fast_and_a_closed_queue_rejects() -> None:
    queue = TrioWorkQueue(maxsize=2)
    with running_tree(sup("root", ChildSpec("req", lambda: Requester.start(queue)))) as tree:
        ref = tree.ref("root/req")
        bridge = TrioBridge()
        for i in range(3):  # the drainer is not running yet: two wait, the third is refused at once
            ref.tell(Fetch(i))
        assert await bridge.ask(ref, Results(), timeout=5) == ["WorkQueueFull"]
        async with trio.open_nursery() as nursery:
            await nursery.start(queue.run)

            async def two_back() -> bool:
                return len(await bridge.ask(ref, Results(), timeout=5)) == 3

            await eventually_async(two_back)
            nursery.cancel_scope.cancel()
        ref.tell(Fetch(9))
        assert (await bridge.ask(ref, Results(), timeout=5))[-1] == "WorkQueueClosed"


async def test_mock_clock_with_autojump_does_not_fake_timeouts(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with running_tree(sup("root", worker("w", []))) as tree:
        bridge = TrioBridge()
        for _ in range(50):
            assert (await bridge.ask(tree.ref("root/w"), Ping(), timeout=1))[0] == "root/w"
    assert eventually(lambda: True)


@pytest.fixture
def autojump_clock() -> trio.testing.MockClock:
    return trio.testing.MockClock(autojump_threshold=0.5)
