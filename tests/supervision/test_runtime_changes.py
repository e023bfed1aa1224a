"""Children are added and removed while the tree runs; removal stops the subtree in reverse order."""

from __future__ import annotations

import pytest

from supervision import ActorUnavailable, DuplicateChild, UnknownPath
from tests.supervision.sup_kit import Boom, Ping, restarted, running_tree, status_of, sup, worker
from tests.support import eventually


def test_an_added_child_runs_and_is_supervised() -> None:
    with running_tree(sup("root", sup("symbols"))) as tree:
        ref = tree.add_child("root/symbols", sup("BTCUSDT", worker("feed", []), worker("signal", [])))
        assert ref.path == "root/symbols/BTCUSDT"
        eventually(tree.settled)
        feed = tree.ref("root/symbols/BTCUSDT/feed")
        assert feed.ask(Ping())[0] == feed.path
        feed.tell(Boom())
        eventually(restarted(tree, feed.path, 1))


def test_a_duplicate_name_is_refused() -> None:
    with running_tree(sup("root", worker("a", []))) as tree, pytest.raises(DuplicateChild):
        tree.add_child("root", worker("a", []))


def test_removal_stops_the_subtree_in_reverse_order_and_forgets_it() -> None:
    events: list[tuple[str, str]] = []
    spec = sup(
        "root", sup("BTCUSDT", worker("feed", events), worker("signal", events)), worker("risk", events)
    )
    with running_tree(spec) as tree:
        feed = tree.ref("root/BTCUSDT/feed")
        events.clear()
        tree.remove_child("root/BTCUSDT")
        assert events == [("stop", "root/BTCUSDT/signal"), ("stop", "root/BTCUSDT/feed")]
        assert status_of(tree, "root/BTCUSDT") == "absent"
        with pytest.raises(ActorUnavailable):
            feed.tell(Ping())
        with pytest.raises(UnknownPath):
            tree.ref("root/BTCUSDT")
        assert tree.ref("root/risk").ask(Ping())[0] == "root/risk"


def test_removing_an_unknown_child_is_an_error() -> None:
    with running_tree(sup("root")) as tree, pytest.raises(UnknownPath):
        tree.remove_child("root/ghost")


def test_run_time_children_survive_a_restart_of_their_supervisor() -> None:
    with running_tree(sup("root", sup("symbols"))) as tree:
        tree.add_child("root/symbols", worker("ETHUSDT", []))
        tree.faults.crash_now("root/symbols")
        eventually(restarted(tree, "root/symbols", 1))
        eventually(lambda: status_of(tree, "root/symbols/ETHUSDT") == "running")
        assert tree.ref("root/symbols/ETHUSDT").ask(Ping())[0] == "root/symbols/ETHUSDT"
