"""The pykka contract of the supervision library: the private names it imports or overrides, their
signatures, and the loop behaviour it relies on (docs/supervision.md, "pykka coupling").

A pykka upgrade that renames, re-signs or re-orders any of these fails here first, with the name in the
message, instead of as a lost message or a hang somewhere in the product's tests.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import queue
import threading
from collections.abc import Callable
from typing import Any

import pykka
import pytest
from pykka._envelope import Envelope
from pykka.messages import _ActorStop

from supervision import Restart
from tests.supervision.sup_kit import (
    Block,
    Boom,
    Halt,
    Journal,
    Note,
    restarted,
    running_tree,
    status_of,
    sup,
    worker,
)
from tests.support import eventually

P = "POSITIONAL_OR_KEYWORD"
K = "KEYWORD_ONLY"

# name → (callable, recorded parameters (name, kind)) as of pykka 4.5.
SIGNATURES: dict[str, tuple[Callable[..., Any], list[tuple[str, str]]]] = {
    "Actor._actor_loop": (pykka.Actor._actor_loop, [("self", P)]),
    "Actor._actor_loop_setup": (pykka.Actor._actor_loop_setup, [("self", P)]),
    "Actor._actor_loop_running": (pykka.Actor._actor_loop_running, [("self", P)]),
    "Actor._actor_loop_teardown": (pykka.Actor._actor_loop_teardown, [("self", P)]),
    "Actor._handle_failure": (
        pykka.Actor._handle_failure,
        [("self", P), ("exception_type", P), ("exception_value", P), ("traceback", P)],
    ),
    "Actor._stop": (pykka.Actor._stop, [("self", P)]),
    "Actor._handle_receive": (pykka.Actor._handle_receive, [("self", P), ("message", P)]),
    "Actor.on_receive": (pykka.Actor.on_receive, [("self", P), ("message", P)]),
    "Actor.on_failure": (
        pykka.Actor.on_failure,
        [("self", P), ("exception_type", P), ("exception_value", P), ("traceback", P)],
    ),
    "ThreadingActor._start_actor_loop": (pykka.ThreadingActor._start_actor_loop, [("self", P)]),
    "ThreadingActor._create_actor_inbox": (pykka.ThreadingActor._create_actor_inbox, []),
    "_envelope.Envelope": (Envelope.__init__, [("self", P), ("message", P), ("reply_to", P)]),
    "messages._ActorStop": (_ActorStop, []),
    "ThreadingFuture.get": (pykka.ThreadingFuture.get, [("self", P), ("timeout", K)]),
    "ThreadingFuture.set": (pykka.ThreadingFuture.set, [("self", P), ("value", P)]),
    "ThreadingFuture.set_exception": (pykka.ThreadingFuture.set_exception, [("self", P), ("exc_info", P)]),
    "ActorRef.stop": (pykka.ActorRef.stop, [("self", P), ("block", K), ("timeout", K)]),
    "ActorRegistry.unregister": (pykka.ActorRegistry.unregister, [("actor_ref", P)]),
}


def test_the_installed_pykka_is_the_pinned_minor_version() -> None:
    assert importlib.metadata.version("pykka").startswith("4.5."), "re-check docs/supervision.md first"


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_a_relied_on_pykka_name_keeps_its_signature(name: str) -> None:
    function, recorded = SIGNATURES[name]
    actual = [(p.name, p.kind.name) for p in inspect.signature(function).parameters.values()]
    assert actual == recorded, f"pykka changed {name}"


def test_the_relied_on_attributes_exist() -> None:
    assert Envelope.__slots__ == ["message", "reply_to"]
    assert isinstance(pykka.ThreadingActor._create_actor_inbox(), queue.Queue)  # node.py drains it
    assert issubclass(pykka.ActorDeadError, Exception)
    assert issubclass(pykka.Timeout, Exception)
    for name in ("_actor_loop", "_actor_loop_running", "_handle_receive"):
        assert name not in vars(pykka.ThreadingActor), f"ThreadingActor now overrides {name}"


class Probe(pykka.ThreadingActor):
    """A bare pykka actor recording the hooks the supervision library overrides, in call order."""

    def __init__(self, trace: list[Any], *, stop_in_setup: bool = False) -> None:
        super().__init__()
        self.trace = trace
        self.stop_in_setup = stop_in_setup

    def on_receive(self, message: Any) -> Any:
        self.trace.append(("receive", message))
        if isinstance(message, Block):
            message.release.wait(10.0)
        if isinstance(message, Boom):
            raise ValueError("boom")
        return message

    def _actor_loop_setup(self) -> None:
        self.trace.append(("setup", threading.current_thread() is not threading.main_thread()))
        if self.stop_in_setup:  # as SupervisedActor does after a failing on_start
            pykka.ActorRegistry.unregister(self.actor_ref)
            self.actor_stopped.set()

    def _handle_failure(self, *exc_info: Any) -> None:
        self.trace.append(("handle_failure", type(exc_info[1]).__name__))
        super()._handle_failure(*exc_info)

    def on_failure(self, *exc_info: Any) -> None:
        self.trace.append(("on_failure", type(exc_info[1]).__name__))

    def _stop(self) -> None:
        self.trace.append(("stop",))
        super()._stop()

    def _actor_loop_teardown(self) -> None:
        left: list[Any] = []
        inbox: queue.Queue[Envelope[Any]] = self.actor_inbox  # type: ignore[assignment]
        while True:
            try:
                left.append(inbox.get_nowait().message)
            except queue.Empty:
                break
        self.trace.append(("teardown", left))


def run_probe(trace: list[Any], **kw: Any) -> pykka.ActorRef[Probe]:
    return Probe.start(trace, **kw)


def test_a_crash_in_a_tell_leaves_the_queued_tells_to_the_teardown_in_order() -> None:
    trace: list[Any] = []
    ref = run_probe(trace)
    release = threading.Event()
    ref.tell(Block(release))
    ref.tell(Boom())
    for i in range(3):
        ref.tell(Note(i))
    release.set()
    eventually(lambda: bool(trace) and trace[-1][0] == "teardown", message="probe torn down")
    assert trace[0] == ("setup", True)  # in the actor's own thread
    assert trace[-3:] == [
        ("handle_failure", "ValueError"),  # recorded as a crash before on_failure runs
        ("on_failure", "ValueError"),
        ("teardown", [Note(0), Note(1), Note(2)]),  # still in the inbox: the node re-routes them
    ]


def test_an_exception_in_an_ask_goes_to_the_caller_and_the_loop_goes_on() -> None:
    trace: list[Any] = []
    ref = run_probe(trace)
    with pytest.raises(ValueError, match="boom"):
        ref.ask(Boom(), timeout=5)
    assert ref.ask(Note(7), timeout=5) == Note(7)
    ref.stop(block=True, timeout=5)
    assert ("handle_failure", "ValueError") not in trace
    assert trace[-2:] == [("stop",), ("teardown", [])]


def test_stopping_in_setup_skips_the_loop_and_still_tears_down() -> None:
    trace: list[Any] = []
    ref = run_probe(trace, stop_in_setup=True)
    eventually(lambda: bool(trace) and trace[-1][0] == "teardown", message="probe torn down")
    assert [entry[0] for entry in trace] == ["setup", "teardown"]
    assert not ref.is_alive()


def test_tells_queued_in_a_crashed_mailbox_reach_the_next_incarnation_in_order() -> None:
    with running_tree(sup("root", worker("w", []))) as tree:
        ref = tree.ref("root/w")
        release = threading.Event()
        ref.tell(Block(release))
        ref.tell(Boom())
        for i in range(10):
            ref.tell(Note(i))
        release.set()
        eventually(restarted(tree, "root/w", 1))
        assert ref.ask(Journal(), timeout=5) == list(range(10))


def test_a_stop_is_a_normal_exit_through_the_stop_hook() -> None:
    with running_tree(sup("root", worker("t", [], restart=Restart.TRANSIENT))) as tree:
        tree.ref("root/t").tell(Halt())
        eventually(lambda: status_of(tree, "root/t") == "stopped" and tree.settled())
        assert tree.counters()["crashes"] == {}
