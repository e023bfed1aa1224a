"""Messages to a restarting child are held and re-routed; to a stopped one they fail loudly; asks time out."""

from __future__ import annotations

import threading

import pytest

from supervision import (
    ActorUnavailable,
    AskTimeout,
    Backoff,
    EventType,
    Intensity,
    ManualClock,
    SupervisionEvent,
    SupervisorSpec,
)
from tests.supervision.sup_kit import Block, Boom, Journal, Note, Ping, restarted, running_tree, sup, worker
from tests.support import eventually


def test_tells_queued_behind_a_crash_are_rerouted_to_the_new_incarnation() -> None:
    with running_tree(sup("root", worker("w", []))) as tree:
        ref = tree.ref("root/w")
        release = threading.Event()
        ref.tell(Block(release))
        ref.tell(Boom())
        for i in range(5):
            ref.tell(Note(i))
        pending = ref.ask_future(Journal())  # an ask queued behind the crash is re-routed too
        release.set()
        eventually(restarted(tree, "root/w", 1))
        assert pending.get(timeout=5) == [0, 1, 2, 3, 4]


def test_messages_sent_during_a_backoff_are_held_in_order() -> None:
    clock = ManualClock()
    spec = SupervisorSpec(
        "root",
        [worker("w", [])],
        intensity=Intensity(10, 60.0),
        backoff=Backoff(min_s=1.0, max_s=1.0, jitter=0.0),
    )
    with running_tree(spec, clock=clock) as tree:
        ref = tree.ref("root/w")
        ref.tell(Boom())
        eventually(restarted(tree, "root/w", 1))
        ref.tell(Boom())
        eventually(lambda: clock.pending_timers() == 1)
        for i in range(3):
            ref.tell(Note(i))
        with pytest.raises(AskTimeout):
            ref.ask(Ping(), timeout=0.05)  # bounded wait: the ask gives up, it never hangs
        clock.advance(1.0)
        assert ref.ask(Journal(), timeout=5) == [0, 1, 2]


def test_a_full_restart_buffer_refuses_with_actor_unavailable() -> None:
    clock = ManualClock()
    spec = SupervisorSpec("root", [worker("w", [])], backoff=Backoff(1.0, 1.0, 0.0))
    with running_tree(spec, clock=clock, hold_limit=3) as tree:
        ref = tree.ref("root/w")
        ref.tell(Boom())
        eventually(restarted(tree, "root/w", 1))
        ref.tell(Boom())
        eventually(lambda: clock.pending_timers() == 1)
        for i in range(3):
            ref.tell(Note(i))
        with pytest.raises(ActorUnavailable, match="full restart buffer"):
            ref.tell(Note(3))
        clock.advance(1.0)
        eventually(restarted(tree, "root/w", 2))
        assert ref.ask(Journal(), timeout=5) == [0, 1, 2]


def test_held_messages_of_a_child_that_will_not_return_are_rejected_loudly() -> None:
    events: list[SupervisionEvent] = []
    spec = sup("root", worker("w", []), intensity=Intensity(0, 10.0))
    with running_tree(spec, listeners=[events.append], on_root_failure=lambda f: None) as tree:
        ref = tree.ref("root/w")
        release = threading.Event()
        ref.tell(Block(release))
        ref.tell(Boom())
        ref.tell(Note(1))
        pending = ref.ask_future(Ping())
        release.set()
        with pytest.raises(ActorUnavailable):
            pending.get(timeout=5)
        eventually(lambda: any(e.type is EventType.DEAD_LETTER and e.reason == "Note" for e in events))
        with pytest.raises(ActorUnavailable):
            ref.tell(Note(2))


def test_an_ask_to_a_slow_child_times_out_and_the_child_survives() -> None:
    with running_tree(sup("root", worker("w", []))) as tree:
        ref = tree.ref("root/w")
        tree.faults.delay_next("root/w", 5.0)
        with pytest.raises(AskTimeout):
            ref.ask(Ping(), timeout=0.05)
        tree.faults.clear("root/w")  # releases the delay at once
        assert ref.ask(Ping(), timeout=5)[0] == "root/w"
        assert ref.incarnation == 1
