"""``PrivateRouter`` over a real supervision tree: by path, lazily, never raising into the session.

A recording actor stands at ``root/symbols/BTCUSDT/position`` (see ``position_recorder``): events of a symbol
without a tree are counted and logged once; a PositionActor that is restarting holds what it is told (the
supervision library's restart buffer) and gets it in order when it is back; a symbol whose tree has no
position child (``UnknownPath``) is counted, and reached once the child exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import structlog
from position_recorder import Journal, RecordingActor

from actors import PrivateRouter, PrivateStreamResumed, position_path
from actors.paths import POSITION, ROOT, SYMBOLS_NAME
from exchange.bybit import OrderUpdate
from supervision import (
    ActorUnavailable,
    Backoff,
    ChildSpec,
    Intensity,
    Status,
    SupervisionTree,
    SupervisorSpec,
    UnknownPath,
)
from tests.support import eventually


def _order(symbol: str, link: str) -> OrderUpdate:
    return OrderUpdate(
        category="linear",
        symbol=symbol,
        order_id=f"o-{link}",
        order_link_id=link,
        side="Buy",
        order_type="Limit",
        price=Decimal("100"),
        qty=Decimal("1"),
        time_in_force="IOC",
        status="New",
        reduce_only=False,
        cum_exec_qty=Decimal(0),
        cum_exec_value=None,
        cum_exec_fee=None,
        avg_price=None,
        leaves_qty=Decimal("1"),
        reject_reason="",
        created_time=1,
        updated_time=1,
    )


@pytest.fixture
def journal() -> Journal:
    return Journal()


@pytest.fixture
def tree(journal: Journal) -> Iterator[SupervisionTree]:
    position = ChildSpec(POSITION, lambda: RecordingActor.start(journal), kind="position")
    btc = SupervisorSpec(
        "BTCUSDT",
        children=(position,),
        intensity=Intensity(max_restarts=10, within_seconds=60),
        backoff=Backoff(min_s=0.5, max_s=1.0, jitter=0.0),
    )
    eth = SupervisorSpec("ETHUSDT", children=())  # a symbol tree without a PositionActor (yet)
    spec = SupervisorSpec(ROOT, children=(SupervisorSpec(SYMBOLS_NAME, children=(btc, eth)),))
    started = SupervisionTree.start(spec, watchdog_interval=None)
    try:
        eventually(started.settled)
        yield started
    finally:
        started.stop(timeout=10)


def _router(tree: SupervisionTree, symbols: frozenset[str]) -> PrivateRouter:
    return PrivateRouter(
        lambda s: tree.ref(position_path(s)),
        lambda exc: isinstance(exc, ActorUnavailable | UnknownPath),
        lambda: symbols,
    )


def test_events_of_a_symbol_without_a_tree_are_counted_and_logged_once(
    tree: SupervisionTree, journal: Journal
) -> None:
    router = _router(tree, frozenset({"BTCUSDT"}))
    with structlog.testing.capture_logs() as logs:
        router.publish(_order("XRPUSDT", "x1"))
        router.publish(_order("XRPUSDT", "x2"))
        router.publish(_order("BTCUSDT", "b1"))
    assert (router.stats.unrouted, router.stats.routed) == (2, 1)
    assert [e["symbol"] for e in logs if e["event"] == "private event for a symbol without a tree"] == [
        "XRPUSDT"
    ]
    eventually(lambda: [u.order_link_id for u in journal.of(OrderUpdate)] == ["b1"])


def test_a_restarting_position_actor_holds_its_events_and_gets_them_in_order(
    tree: SupervisionTree, journal: Journal
) -> None:
    router = _router(tree, frozenset({"BTCUSDT"}))
    path = position_path("BTCUSDT")
    ref = tree.ref(path)
    router.publish(_order("BTCUSDT", "before"))
    eventually(lambda: len(journal.of(OrderUpdate)) == 1)
    tree.faults.fail_on_start(path, times=2)  # the restarts after the crash fail twice: a backoff window
    tree.faults.crash_now(path)
    eventually(lambda: ref.status is Status.RESTARTING and ref.incarnation >= 2)

    router.publish(_order("BTCUSDT", "during-1"))
    router.resumed(1_700_000_000_000)
    router.publish(_order("BTCUSDT", "during-2"))
    assert [u.order_link_id for u in journal.of(OrderUpdate)] == ["before"]  # held, not lost

    eventually(lambda: len(journal.of(OrderUpdate)) == 3, timeout=10)
    assert ref.status is Status.RUNNING
    assert [u.order_link_id for u in journal.of(OrderUpdate)] == ["before", "during-1", "during-2"]
    assert len(journal.of(PrivateStreamResumed)) == 1
    assert (router.stats.routed, router.stats.rejected) == (4, 0)


def test_a_symbol_tree_without_a_position_child_is_counted_until_the_child_exists(
    tree: SupervisionTree,
) -> None:
    router = _router(tree, frozenset({"BTCUSDT", "ETHUSDT"}))
    router.publish(_order("ETHUSDT", "e1"))
    assert router.stats.rejected == 1  # UnknownPath: swallowed, the session lives on
    eth = Journal()
    spec = ChildSpec(POSITION, lambda: RecordingActor.start(eth), kind="position")
    tree.add_child("root/symbols/ETHUSDT", spec)
    router.publish(_order("ETHUSDT", "e2"))
    eventually(lambda: [u.order_link_id for u in eth.of(OrderUpdate)] == ["e2"])
