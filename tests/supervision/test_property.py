"""Property: random trees under random crash schedules end in a state OTP's rules allow.

After quiescence, (1) every child of a running supervisor is running, and every permanent or transient
child is present (nothing here stops normally); (2) each supervisor incarnation made at most
`max_restarts` restart decisions, and escalated exactly when a crash would have been one too many.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supervision import (
    ActorUnavailable,
    EventType,
    Intensity,
    Restart,
    Spec,
    Strategy,
    SupervisionEvent,
    SupervisorSpec,
    UnknownPath,
)
from tests.supervision.sup_kit import NO_BACKOFF, running_tree, worker
from tests.support import eventually

restarts = st.sampled_from([Restart.PERMANENT, Restart.PERMANENT, Restart.TRANSIENT, Restart.TEMPORARY])


def leaves(name: str) -> st.SearchStrategy[Spec]:
    return restarts.map(lambda r: worker(name, [], restart=r))


@st.composite
def trees(draw: st.DrawFn, name: str = "root", depth: int = 0) -> SupervisorSpec:
    count = draw(st.integers(1, 3))
    children: list[Spec] = []
    for i in range(count):
        child_name = f"{name[0]}{depth}{i}"
        if depth < 2 and draw(st.booleans()):
            children.append(draw(trees(child_name, depth + 1)))
        else:
            children.append(draw(leaves(child_name)))
    return SupervisorSpec(
        name,
        children,
        strategy=draw(st.sampled_from(list(Strategy))),
        intensity=Intensity(draw(st.integers(0, 3)), 60.0),
        backoff=NO_BACKOFF,
    )


def all_paths(spec: SupervisorSpec, prefix: str = "") -> list[str]:
    here = f"{prefix}{spec.name}"
    out = []
    for child in spec.children:
        out.append(f"{here}/{child.name}")
        if isinstance(child, SupervisorSpec):
            out.extend(all_paths(child, here + "/"))
    return out


def specs_by_path(spec: SupervisorSpec, prefix: str = "") -> dict[str, Spec]:
    here = f"{prefix}{spec.name}"
    out: dict[str, Spec] = {here: spec}
    for child in spec.children:
        if isinstance(child, SupervisorSpec):
            out.update(specs_by_path(child, here + "/"))
        else:
            out[f"{here}/{child.name}"] = child
    return out


def check_shape(node: dict[str, Any], specs: dict[str, Spec]) -> None:
    spec = specs[node["path"]]
    if node["status"] != "running" or not isinstance(spec, SupervisorSpec):
        return
    present = {child["path"]: child for child in node["children"]}
    for child_spec in spec.children:
        path = f"{node['path']}/{child_spec.name}"
        if child_spec.restart is not Restart.TEMPORARY:
            assert path in present, f"{path} missing under running {node['path']}"
    for child in node["children"]:
        assert child["status"] == "running", f"{child['path']} is {child['status']} under a running parent"
        check_shape(child, specs)


def check_intensity(events: list[SupervisionEvent], specs: dict[str, Spec]) -> None:
    decisions: dict[str, int] = {}
    for event in events:
        parent = event.path.rpartition("/")[0]
        if event.type in (EventType.START, EventType.RESTART) and isinstance(
            specs.get(event.path), SupervisorSpec
        ):
            decisions[event.path] = 0
        elif event.type is EventType.CRASH and parent:
            child = specs[event.path]
            if child.restart is Restart.TEMPORARY:
                continue
            supervisor = specs[parent]
            assert isinstance(supervisor, SupervisorSpec)
            decisions[parent] = decisions.get(parent, 0) + 1
            assert decisions[parent] <= supervisor.intensity.max_restarts + 1
        elif event.type is EventType.ESCALATION:
            supervisor = specs[event.path]
            assert isinstance(supervisor, SupervisorSpec)
            assert decisions.get(event.path, 0) == supervisor.intensity.max_restarts + 1, event


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=trees(), schedule=st.lists(st.integers(0, 50), max_size=6))
def test_random_trees_obey_otp_rules_after_random_crashes(spec: SupervisorSpec, schedule: list[int]) -> None:
    events: list[SupervisionEvent] = []
    paths = all_paths(spec)
    specs = specs_by_path(spec)
    with running_tree(spec, listeners=[events.append], on_root_failure=lambda f: None) as tree:
        for pick in schedule:
            if tree.failure is not None:
                break
            target = paths[pick % len(paths)]
            crashes = sum(tree.counters()["crashes"].values())
            try:
                tree.faults.crash_now(target)
            except (ActorUnavailable, UnknownPath):
                continue  # gone (temporary child removed) or under a stopped ancestor
            eventually(lambda n=crashes: sum(tree.counters()["crashes"].values()) > n and tree.settled())
        eventually(tree.settled)
        if tree.failure is None:
            check_shape(tree.snapshot(), specs)
        check_intensity(list(events), specs)
