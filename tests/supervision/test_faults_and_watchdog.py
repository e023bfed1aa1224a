"""Fault injection by path, and the watchdog that finds threads that died without a word."""

from __future__ import annotations

import pytest

from supervision import InjectedFault
from tests.supervision.sup_kit import Journal, Note, Ping, restarted, running_tree, status_of, sup, worker
from tests.support import eventually


def test_nothing_is_armed_by_default() -> None:
    with running_tree(sup("root", worker("w", []))) as tree:
        assert tree.faults.armed is False
        for i in range(20):
            tree.ref("root/w").tell(Note(i))
        assert len(tree.ref("root/w").ask(Journal())) == 20
        assert tree.ref("root/w").incarnation == 1


def test_crash_now_by_path() -> None:
    with running_tree(sup("root", sup("s", worker("w", [])))) as tree:
        tree.faults.crash_now("root/s/w")
        eventually(restarted(tree, "root/s/w", 1))
        assert tree.snapshot()["children"][0]["children"][0]["last_failure"]["type"] == "InjectedFault"


def test_crash_on_next_message_of_a_type_skips_other_types() -> None:
    with running_tree(sup("root", worker("w", []))) as tree:
        ref = tree.ref("root/w")
        tree.faults.crash_on_next("root/w", Note)
        assert ref.ask(Ping())[0] == "root/w"  # not a Note: handled normally
        ref.tell(Note(1))
        eventually(restarted(tree, "root/w", 1))
        assert ref.ask(Journal()) == []
        assert tree.faults.armed is False  # a one-shot fault disarms itself


def test_crash_on_next_during_an_ask_still_ends_the_incarnation() -> None:
    with running_tree(sup("root", worker("w", []))) as tree:
        ref = tree.ref("root/w")
        tree.faults.crash_on_next("root/w")
        with pytest.raises(InjectedFault):
            ref.ask(Ping())
        eventually(restarted(tree, "root/w", 1))


def test_fail_on_start_can_be_armed_before_the_child_exists() -> None:
    with running_tree(sup("root")) as tree:
        tree.faults.fail_on_start("root/late", 1)
        tree.add_child("root", worker("late", []))
        eventually(lambda: tree.ref("root/late").incarnation == 2 and tree.settled())
        assert status_of(tree, "root/late") == "running"


def test_the_watchdog_finds_a_thread_that_died_silently() -> None:
    with running_tree(sup("root", worker("w", []))) as tree:
        ref = tree.ref("root/w")
        tree.faults.kill_silently("root/w")
        ref.tell(Note(5))  # lands in the dead mailbox; the watchdog re-routes it
        node = tree._runtime.node("root/w")
        eventually(lambda: node.thread is not None and not node.thread.is_alive())
        assert status_of(tree, "root/w") == "running"  # nobody reported it: still believed running
        assert tree.watchdog_sweep() == 1
        eventually(restarted(tree, "root/w", 1))
        assert ref.ask(Journal()) == [5]
        assert tree.watchdog_sweep() == 0
        assert tree.counters()["crashes"] == {"worker": 1}


def test_the_watchdog_thread_sweeps_on_its_own() -> None:
    with running_tree(sup("root", worker("w", [])), watchdog_interval=0.01) as tree:
        tree.faults.kill_silently("root/w")
        eventually(restarted(tree, "root/w", 1))
        failure = tree.snapshot()["children"][0]["last_failure"]
        assert failure["type"] == "ThreadDied"
