"""The storage repositories satisfy, member by member, the ports the actors declare (one Protocol per port).

The composition root hands ``storage.Storage``'s repositories to the actors; this pins that each still has
every method of its port with the same parameters (names, kinds, defaults) and the same sync/async nature, so
a renamed or reshaped repository method fails here rather than in a running engine.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from actors import CandleBatchStore, MarketStore
from actors.monitor import MonitorDataPort
from actors.position import ExecutionStorePort
from actors.risk import DeliveryLog, RiskStatePort
from storage import (
    ExecutionRepository,
    MarketRepository,
    MonitorRepository,
    RiskStateRepository,
    WebhookDeliveryRepository,
)

PORTS: list[tuple[type[Any], type[Any]]] = [
    (MarketStore, MarketRepository),
    (CandleBatchStore, MarketRepository),
    (RiskStatePort, RiskStateRepository),
    (DeliveryLog, WebhookDeliveryRepository),
    (MonitorDataPort, MonitorRepository),
    (ExecutionStorePort, ExecutionRepository),
]


def _members(port: type[Any]) -> dict[str, Any]:
    return {
        name: member
        for name, member in vars(port).items()
        if inspect.isfunction(member) and not name.startswith("_")
    }


def _shape(function: Any) -> list[tuple[str, object, bool]]:
    parameters = list(inspect.signature(function).parameters.values())[1:]  # without self
    return [(p.name, p.kind, p.default is not inspect.Parameter.empty) for p in parameters]


@pytest.mark.parametrize(("port", "implementation"), PORTS, ids=lambda t: t.__name__)
def test_the_repository_has_every_member_of_the_port(port: type[Any], implementation: type[Any]) -> None:
    members = _members(port)
    assert members, f"expected {port.__name__} to declare methods"
    for name, declared in members.items():
        implemented = getattr(implementation, name, None)
        assert implemented is not None, f"{implementation.__name__} lacks {port.__name__}.{name}"
        assert inspect.iscoroutinefunction(implemented) == inspect.iscoroutinefunction(declared), name
        assert _shape(implemented) == _shape(declared), f"{implementation.__name__}.{name}"
