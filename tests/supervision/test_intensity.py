"""Sliding-window intensity, backoff on the manual clock, escalation through three levels, root failure."""

from __future__ import annotations

from supervision import Backoff, FailureInfo, Intensity, ManualClock, Restart, SupervisorSpec
from tests.supervision.sup_kit import (
    Boom,
    Journal,
    Note,
    Ping,
    restarted,
    running_tree,
    status_of,
    sup,
    worker,
)
from tests.support import eventually


def crash_and_wait(tree, path: str) -> None:  # type: ignore[no-untyped-def]
    before = tree.ref(path).incarnation
    tree.ref(path).tell(Boom())
    eventually(restarted(tree, path, before))


def test_restarts_within_the_window_are_limited_but_old_ones_slide_out() -> None:
    clock = ManualClock()
    spec = sup("root", sup("s", worker("w", []), intensity=Intensity(2, 10.0)), intensity=Intensity(10, 10.0))
    with running_tree(spec, clock=clock) as tree:
        crash_and_wait(tree, "root/s/w")  # t=0
        clock.advance(5)
        crash_and_wait(tree, "root/s/w")  # t=5
        clock.advance(6)
        crash_and_wait(tree, "root/s/w")  # t=11: the t=0 restart left the window
        assert tree.ref("root/s").incarnation == 1
        clock.advance(1)
        tree.ref("root/s/w").tell(Boom())  # t=12: restarts at 5 and 11 are in the window -> escalate
        eventually(lambda: tree.ref("root/s").incarnation == 2 and tree.settled())
        assert status_of(tree, "root/s/w") == "running"
        assert tree.ref("root/s/w").ask(Ping())[0] == "root/s/w"
        assert tree.counters()["escalations"] == {"supervisor": 1}


def test_backoff_delays_repeated_restarts_until_the_clock_advances() -> None:
    clock = ManualClock()
    spec = SupervisorSpec(
        "root",
        [worker("w", [])],
        intensity=Intensity(10, 60.0),
        backoff=Backoff(min_s=1.0, max_s=4.0, jitter=0.0),
    )
    with running_tree(spec, clock=clock) as tree:
        ref = tree.ref("root/w")
        crash_and_wait(tree, "root/w")  # the first restart in the window is immediate
        ref.tell(Boom())
        eventually(lambda: status_of(tree, "root/w") == "restarting" and clock.pending_timers() == 1)
        reply = ref.ask_future(Ping())  # held while restarting
        ref.tell(Note(7))
        clock.advance(0.9)
        assert status_of(tree, "root/w") == "restarting"
        clock.advance(0.1)
        eventually(restarted(tree, "root/w", 2))
        assert reply.get(timeout=5)[0] == "root/w"
        assert ref.ask(Journal()) == [7]
        ref.tell(Boom())  # third restart in the window waits 2 s
        eventually(lambda: clock.pending_timers() == 1)
        clock.advance(1.5)
        assert status_of(tree, "root/w") == "restarting"
        clock.advance(0.5)
        eventually(restarted(tree, "root/w", 3))


def test_backoff_grows_exponentially_and_caps_with_jitter_bounds() -> None:
    import random

    backoff = Backoff(min_s=0.5, max_s=3.0, jitter=0.2)
    rng = random.Random(1)
    assert backoff.delay(0, rng) == 0.0
    assert [Backoff(0.5, 3.0, 0.0).delay(n, rng) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    for n in range(1, 6):
        base = min(3.0, 0.5 * 2 ** (n - 1))
        assert 0.8 * base <= backoff.delay(n, rng) <= 1.2 * base


def test_escalation_climbs_three_levels_and_the_top_restarts_the_subtree() -> None:
    zero = Intensity(0, 10.0)
    l3 = sup("l3", worker("w", []), intensity=zero)
    spec = sup("root", sup("l1", sup("l2", l3, intensity=zero), intensity=zero), intensity=Intensity(1, 10.0))
    with running_tree(spec) as tree:
        tree.ref("root/l1/l2/l3/w").tell(Boom())
        eventually(lambda: tree.ref("root/l1").incarnation == 2 and tree.settled())
        for path in ("root/l1", "root/l1/l2", "root/l1/l2/l3", "root/l1/l2/l3/w"):
            assert status_of(tree, path) == "running", path
        assert tree.ref("root/l1/l2/l3/w").incarnation == 2
        assert tree.counters()["escalations"] == {"supervisor": 3}  # l3, l2 and l1 gave up in turn
        snap = tree.snapshot()["children"][0]
        assert snap["last_failure"]["type"] == "IntensityExceeded"


def test_root_failure_calls_the_owner_once() -> None:
    failures: list[FailureInfo] = []
    zero = Intensity(0, 10.0)
    spec = sup("root", sup("l1", sup("l2", worker("w", []), intensity=zero), intensity=zero), intensity=zero)
    with running_tree(spec, on_root_failure=failures.append) as tree:
        tree.ref("root/l1/l2/w").tell(Boom())
        eventually(lambda: len(failures) == 1)
        assert failures[0].type == "IntensityExceeded"
        assert tree.failure == failures[0]
        eventually(
            lambda: all(
                status_of(tree, p) in ("stopped", "failed")
                for p in ("root", "root/l1", "root/l1/l2", "root/l1/l2/w")
            )
        )
        assert status_of(tree, "root") == "failed"


def test_temporary_supervisor_is_not_restarted_after_escalation() -> None:
    zero = Intensity(0, 10.0)
    spec = sup(
        "root", sup("tmp", worker("w", []), intensity=zero, restart=Restart.TEMPORARY), worker("x", [])
    )
    with running_tree(spec) as tree:
        tree.ref("root/tmp/w").tell(Boom())
        eventually(lambda: status_of(tree, "root/tmp") == "absent" and tree.settled())
        assert status_of(tree, "root/x") == "running"
