"""one_for_one, one_for_all and rest_for_one restart exactly their group; simultaneous crashes are safe."""

from __future__ import annotations

import threading

import pytest

from supervision import Strategy
from tests.supervision.sup_kit import Boom, Ping, running_tree, sup, worker
from tests.support import eventually

NAMES = ("a", "b", "c")


def incarnations(tree, parent: str = "root") -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {n: tree.ref(f"{parent}/{n}").incarnation for n in NAMES}


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        (Strategy.ONE_FOR_ONE, {"a": 1, "b": 2, "c": 1}),
        (Strategy.ONE_FOR_ALL, {"a": 2, "b": 2, "c": 2}),
        (Strategy.REST_FOR_ONE, {"a": 1, "b": 2, "c": 2}),
    ],
)
def test_crash_restarts_the_strategy_group_only(strategy: Strategy, expected: dict[str, int]) -> None:
    events: list[tuple[str, str]] = []
    with running_tree(sup("root", *(worker(n, events) for n in NAMES), strategy=strategy)) as tree:
        events.clear()
        tree.ref("root/b").tell(Boom())
        eventually(lambda: incarnations(tree) == expected and tree.settled())
        for name in NAMES:
            assert tree.ref(f"root/{name}").ask(Ping())[0] == f"root/{name}"
        stopped = [path for kind, path in events if kind == "stop"]
        started = [path for kind, path in events if kind == "start"]
        # Siblings stop in reverse start order and restart in start order; the crashed child has no on_stop.
        group = [f"root/{n}" for n, inc in expected.items() if inc == 2]
        assert stopped == [p for p in reversed(group) if p != "root/b"]
        assert started == group


def test_rest_for_one_crash_of_the_last_child_restarts_only_it() -> None:
    with running_tree(sup("root", *(worker(n, []) for n in NAMES), strategy=Strategy.REST_FOR_ONE)) as tree:
        tree.ref("root/c").tell(Boom())
        eventually(lambda: incarnations(tree) == {"a": 1, "b": 1, "c": 2} and tree.settled())


@pytest.mark.parametrize("strategy", list(Strategy))
def test_simultaneous_crashes_of_siblings_end_with_everyone_running(strategy: Strategy) -> None:
    names = [f"w{i}" for i in range(6)]
    with running_tree(sup("root", *(worker(n, []) for n in names), strategy=strategy)) as tree:
        go = threading.Barrier(len(names))

        def crash(name: str) -> None:
            go.wait()
            tree.ref(f"root/{name}").tell(Boom())

        threads = [threading.Thread(target=crash, args=(n,)) for n in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        eventually(lambda: tree.settled() and all(tree.ref(f"root/{n}").incarnation >= 2 for n in names))
        for n in names:
            assert tree.ref(f"root/{n}").ask(Ping())[0] == f"root/{n}"
        if strategy is Strategy.ONE_FOR_ONE:
            assert all(tree.ref(f"root/{n}").incarnation == 2 for n in names)
