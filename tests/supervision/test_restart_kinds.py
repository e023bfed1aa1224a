"""permanent, transient and temporary children; a normal stop is not a crash; a failing on_start is seen."""

from __future__ import annotations

import pytest

from supervision import ActorUnavailable, Intensity, Restart
from tests.supervision.sup_kit import Boom, Halt, Ping, restarted, running_tree, status_of, sup, worker
from tests.support import eventually


@pytest.mark.parametrize(
    ("restart", "after_crash", "after_halt"),
    [
        (Restart.PERMANENT, "running", "running"),
        (Restart.TRANSIENT, "running", "stopped"),
        (Restart.TEMPORARY, "absent", "absent"),
    ],
)
def test_restart_policy_decides_after_crash_and_after_normal_stop(
    restart: Restart, after_crash: str, after_halt: str
) -> None:
    spec = sup("root", worker("c", [], restart=restart), worker("h", [], restart=restart))
    with running_tree(spec) as tree:
        crashed, halted = tree.ref("root/c"), tree.ref("root/h")
        crashed.tell(Boom())
        halted.tell(Halt())

        def outcome(ref, expected: str) -> bool:  # type: ignore[no-untyped-def]
            if expected == "running":
                return ref.incarnation == 2 and status_of(tree, ref.path) == "running"
            return status_of(tree, ref.path) == expected

        eventually(lambda: outcome(crashed, after_crash) and outcome(halted, after_halt) and tree.settled())
        if after_halt != "running":
            with pytest.raises(ActorUnavailable):
                halted.tell(Ping())
        counters = tree.counters()
        assert counters["crashes"] == {"worker": 1}  # the normal stop is not counted as a crash


def test_an_actor_stopped_by_someone_else_is_seen_and_restarted() -> None:
    with running_tree(sup("root", worker("w", []))) as tree:
        node = tree._runtime.node("root/w")  # reach the raw pykka ref, as foreign code could
        assert node.ref is not None
        node.ref.stop()
        eventually(restarted(tree, "root/w", 1))


def test_a_crash_in_on_start_is_retried_until_it_succeeds() -> None:
    with running_tree(sup("root", worker("w", []))) as tree:
        tree.faults.fail_on_start("root/w", 2)
        tree.ref("root/w").tell(Boom())
        eventually(lambda: tree.ref("root/w").incarnation == 4 and tree.settled())
        assert status_of(tree, "root/w") == "running"
        assert tree.counters()["crashes"] == {"worker": 3}
        assert tree.snapshot()["children"][0]["last_failure"]["type"] == "InjectedFault"


def test_a_child_that_never_starts_escalates() -> None:
    failures: list[object] = []
    with running_tree(sup("root", intensity=Intensity(3, 10.0)), on_root_failure=failures.append) as tree:
        tree.faults.fail_on_start("root/w", 100)
        tree.add_child("root", worker("w", []))
        eventually(lambda: len(failures) == 1)
        assert tree.counters()["crashes"] == {"worker": 4}


def test_a_factory_that_raises_is_a_failed_start() -> None:
    from supervision import ChildSpec

    def broken() -> object:
        raise RuntimeError("no config")

    failures: list[object] = []
    spec = sup("root", ChildSpec("bad", broken, kind="bad"), intensity=Intensity(2, 10.0))  # type: ignore[arg-type]
    with running_tree(spec, on_root_failure=failures.append) as tree:
        eventually(lambda: len(failures) == 1)
        assert tree.counters()["crashes"] == {"bad": 3}
