"""OTP-style supervision for pykka actors: specs, strategies, stable addresses, live tree, fault injection.

Generic library (imports nothing of algogrid). Public API:

- `SupervisedActor` — base class of every supervised actor. Implement `on_start()` (rebuild ALL state
  there: a restart calls the factory again and gets a fresh instance) and `handle(message)` (tell and ask).
  Provides `self.clock`, `self.path`, `self.self_ref`, `self.log`.
- `ChildSpec(name, start, restart=Restart.PERMANENT, shutdown_timeout=5.0, kind="actor")`,
  `SupervisorSpec(name, children, strategy=Strategy.ONE_FOR_ONE, intensity=Intensity(5, 10.0),
  backoff=Backoff(0.1, 5.0, 0.2), restart=..., shutdown_timeout=30.0, kind="supervisor")`.
- `SupervisionTree.start(root_spec, clock=..., on_root_failure=..., listeners=..., watchdog_interval=1.0,
  metrics=None)` → `tree.ref(path)`, `tree.snapshot()` / `tree()`, `tree.add_child(parent_path, spec)`,
  `tree.remove_child(path)`, `tree.faults`, `tree.counters()`, `tree.settled()`, `tree.on_settled(callback)`,
  `tree.stop(timeout)`.
- `ChildRef` — stable address: `tell`, `ask(msg, timeout)` (blocking), `ask_future(msg)`; a message of type
  `Ask[R]` types the reply as `R`. While a child restarts, messages are held (bounded) and delivered to
  the new incarnation; to a stopped/failed/removed child, or with a full buffer, sending raises
  `ActorUnavailable`.
- `TrioBridge` — `await bridge.ask(ref, msg, timeout=...)`, `await bridge.wait_settled(tree, timeout=...)`,
  `await bridge.stop_tree(tree)`; `TrioWorkQueue` — actor → trio hand-off with the result told back as a
  message.
- Clocks: `Clock`, `RealClock` (one lazily started timer thread per clock), `ManualClock`.
- Metrics: `SupervisionEvents`, `SupervisionEvent`, and `SupervisionMetrics(registry)`, the prometheus
  Counters a tree updates when it is given them (nothing is registered at import).
"""

from __future__ import annotations

from supervision.actor import SupervisedActor
from supervision.asks import Ask
from supervision.bridge import TrioBridge
from supervision.clock import Clock, ManualClock, RealClock, TimerHandle
from supervision.errors import (
    ActorUnavailable,
    AskTimeout,
    DuplicateChild,
    IllegalTransition,
    InjectedFault,
    IntensityExceeded,
    NotSupervised,
    SupervisionError,
    UnknownPath,
    WorkQueueClosed,
    WorkQueueFull,
)
from supervision.faults import FaultInjector
from supervision.future import ReplyFuture
from supervision.metrics import EventType, SupervisionEvent, SupervisionEvents, SupervisionMetrics
from supervision.ref import ChildRef
from supervision.spec import Backoff, ChildSpec, Intensity, Restart, Spec, Strategy, SupervisorSpec
from supervision.status import ExitReason, FailureInfo, Status
from supervision.supervisor import Supervisor
from supervision.tree import SupervisionTree
from supervision.workqueue import TrioWorkQueue

__all__ = [
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
