"""A tree starts, addresses children by path, survives restarts, and shows itself as JSON."""

from __future__ import annotations

import json

import pytest

from supervision import ActorUnavailable, ChildRef, NotSupervised, Status, UnknownPath
from tests.supervision.sup_kit import Boom, Journal, Note, Ping, Worker, restarted, running_tree, sup, worker
from tests.support import eventually


def test_children_start_in_order_and_answer_through_their_address() -> None:
    events: list[tuple[str, str]] = []
    with running_tree(sup("root", worker("a", events), sup("inner", worker("b", events)))) as tree:
        assert tree.ref("root/a").ask(Ping())[0] == "root/a"
        assert tree.ref("root/inner/b").ask(Ping())[0] == "root/inner/b"
        assert events.index(("start", "root/a")) < len(events)


def test_unknown_path_is_refused() -> None:
    with running_tree(sup("root")) as tree, pytest.raises(UnknownPath):
        tree.ref("root/nope")


def test_an_actor_started_outside_a_spec_is_refused() -> None:
    with pytest.raises(NotSupervised):
        Worker.start([])


def test_an_exception_in_an_ask_goes_back_to_the_caller_and_the_actor_keeps_running() -> None:
    with running_tree(sup("root", worker("a", []))) as tree:
        ref = tree.ref("root/a")
        with pytest.raises(ValueError, match="boom"):
            ref.ask(Boom())
        assert ref.incarnation == 1
        assert ref.ask(Ping())[0] == "root/a"


def test_a_crash_in_a_tell_restarts_a_fresh_instance_with_the_same_address() -> None:
    with running_tree(sup("root", worker("a", []))) as tree:
        ref = tree.ref("root/a")
        ref.tell(Note(1))
        first = ref.ask(Ping())[1]
        ref.tell(Boom())
        eventually(restarted(tree, "root/a", 1))
        assert ref.ask(Ping())[1] != first
        assert ref.ask(Journal()) == []  # state is rebuilt in on_start, not resurrected


def test_snapshot_is_json_with_the_agreed_keys() -> None:
    with running_tree(sup("root", worker("a", []), sup("inner", worker("b", [])))) as tree:
        tree.ref("root/a").tell(Boom())
        eventually(restarted(tree, "root/a", 1))
        snap = json.loads(json.dumps(tree()))
        assert set(snap) == {
            "path",
            "kind",
            "status",
            "restarts",
            "recent_restarts",
            "last_failure",
            "uptime_s",
            "mailbox",
            "handled",
            "children",
        }
        a, inner = snap["children"]
        assert a["path"] == "root/a"
        assert a["status"] == "running"
        assert a["restarts"] == 1
        assert len(a["recent_restarts"]) == 1
        assert a["last_failure"]["type"] == "ValueError"
        assert a["last_failure"]["message"] == "boom"
        assert set(a["last_failure"]) == {"type", "message", "traceback", "at"}
        assert inner["children"][0]["path"] == "root/inner/b"
        assert snap["kind"] == "supervisor"
        assert a["kind"] == "worker"


def test_handled_counts_messages() -> None:
    with running_tree(sup("root", worker("a", []))) as tree:
        ref = tree.ref("root/a")
        for i in range(5):
            ref.tell(Note(i))
        assert ref.ask(Journal()) == [0, 1, 2, 3, 4]
        assert tree.snapshot()["children"][0]["handled"] == 6


def test_a_stopped_tree_refuses_messages() -> None:
    with running_tree(sup("root", worker("a", []))) as tree:
        ref: ChildRef = tree.ref("root/a")
    assert ref.status is Status.STOPPED
    with pytest.raises(ActorUnavailable):
        ref.tell(Note(1))
