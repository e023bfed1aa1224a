"""Counters and listeners see every lifecycle event; prometheus Counters move on the registry the tree was
given (none at import); the front door is pinned."""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry

import supervision
from supervision import EventType, SupervisionEvent, SupervisionMetrics
from tests.supervision.sup_kit import Boom, restarted, running_tree, sup, worker
from tests.support import eventually


def test_events_reach_listeners_counters_and_prometheus() -> None:
    events: list[SupervisionEvent] = []
    metrics = SupervisionMetrics(CollectorRegistry())
    crashes_before = metrics.crashes.labels(kind="metered", reason="crash")._value.get()
    restarts_before = metrics.restarts.labels(kind="metered")._value.get()
    spec = sup("root", worker("w", [], kind="metered"))
    with running_tree(spec, listeners=[events.append], metrics=metrics) as tree:
        tree.ref("root/w").tell(Boom())
        eventually(restarted(tree, "root/w", 1))
        counters = tree.counters()
        assert counters["crashes"] == {"metered": 1}
        assert counters["restarts"] == {"metered": 1}
        assert counters["starts"] == {"supervisor": 1, "metered": 1}
    kinds = [(e.type, e.path) for e in events]
    assert (EventType.CRASH, "root/w") in kinds
    assert (EventType.RESTART, "root/w") in kinds
    assert metrics.crashes.labels(kind="metered", reason="crash")._value.get() == crashes_before + 1
    assert metrics.restarts.labels(kind="metered")._value.get() == restarts_before + 1
    assert (
        metrics.registry.get_sample_value("supervision_crashes_total", {"kind": "metered", "reason": "crash"})
        == crashes_before + 1
    )


def test_the_library_registers_nothing_on_the_global_registry() -> None:
    assert not [name for name in REGISTRY._names_to_collectors if name.startswith("supervision_")]


def test_a_tree_without_metrics_still_counts_events() -> None:
    with running_tree(sup("root", worker("w", [], kind="bare"))) as tree:
        tree.ref("root/w").tell(Boom())
        eventually(restarted(tree, "root/w", 1))
        assert tree.counters()["crashes"] == {"bare": 1}


def test_a_failing_listener_does_not_break_supervision() -> None:
    def broken(event: SupervisionEvent) -> None:
        raise RuntimeError("listener bug")

    with running_tree(sup("root", worker("w", [])), listeners=[broken]) as tree:
        tree.ref("root/w").tell(Boom())
        eventually(restarted(tree, "root/w", 1))


def test_front_door_exports_exactly_the_public_api() -> None:
    assert sorted(supervision.__all__) == sorted(
        [
            "ActorUnavailable",
            "Ask",
            "AskTimeout",
            "Backoff",
            "ChildRef",
            "ChildSpec",
            "Clock",
            "DuplicateChild",
            "EventType",
            "ExitReason",
            "FailureInfo",
            "FaultInjector",
            "IllegalTransition",
            "InjectedFault",
            "Intensity",
            "IntensityExceeded",
            "ManualClock",
            "NotSupervised",
            "RealClock",
            "ReplyFuture",
            "Restart",
            "Spec",
            "Status",
            "Strategy",
            "SupervisedActor",
            "SupervisionError",
            "SupervisionEvent",
            "SupervisionEvents",
            "SupervisionMetrics",
            "SupervisionTree",
            "Supervisor",
            "SupervisorSpec",
            "TimerHandle",
            "TrioBridge",
            "TrioWorkQueue",
            "UnknownPath",
            "WorkQueueClosed",
            "WorkQueueFull",
        ]
    )
    for name in supervision.__all__:
        assert hasattr(supervision, name)
    assert issubclass(supervision.ActorUnavailable, supervision.SupervisionError)
    assert issubclass(supervision.AskTimeout, supervision.SupervisionError)


def test_illegal_transitions_raise() -> None:
    import pytest

    from supervision.status import Status, check_transition

    check_transition("p", Status.RUNNING, Status.RESTARTING)
    with pytest.raises(supervision.IllegalTransition):
        check_transition("p", Status.STOPPED, Status.RUNNING)


def test_manual_clock_fires_due_timers_in_order_and_skips_cancelled() -> None:
    from supervision import ManualClock

    clock = ManualClock()
    fired: list[str] = []
    clock.call_later(2, lambda: fired.append("b"))
    clock.call_later(1, lambda: fired.append("a"))
    clock.call_later(1.5, lambda: fired.append("x")).cancel()
    clock.advance(1.9)
    assert fired == ["a"]
    clock.advance(0.1)
    assert fired == ["a", "b"]
    assert clock.monotonic() == 2.0
    assert clock.now().isoformat() == "2024-01-01T00:00:02+00:00"
