"""Repairs the ReconcilerActor asks of a PositionActor (C-02, C-03, DESIGN §9: the owner repairs).

The reconciler only reads and classifies; the PositionActor, the one writer of its symbol's orders and
positions, carries these out (``actors.position.reconcile``):

* ``Revalidate`` — a REST snapshot of the position's orders and fills, as after a private-stream resume
  (stores the fills the stream missed, settles orders);
* ``AdoptExchangeClose`` — the exchange closed the position outside the system (by hand, another client):
  store the other client's fills as this position's, close it with the exchange's closed PnL;
* ``CancelOrphanOrders`` — cancel open orders with our ``orderLinkId`` that no position owns;
* ``FlattenSymbol`` — a critical finding with ``reconciler.liquidate_on_critical``: close whatever the
  exchange holds on the symbol at market, reduce-only (the next pass adopts the close of our position);
* ``RepairStepDone`` — the reply of a repair's work-queue job.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AdoptExchangeClose",
    "CancelOrphanOrders",
    "FlattenSymbol",
    "RepairMessage",
    "RepairStepDone",
    "Revalidate",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Revalidate:
    """Command (reconciler → position): re-read the exchange's orders and fills of every known position."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AdoptExchangeClose:
    """Command (reconciler → position): the exchange holds nothing of ``position_id``; adopt the close."""

    position_id: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelOrphanOrders:
    """Command (reconciler → position): cancel these open orders of ours that no position owns."""

    order_link_ids: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FlattenSymbol:
    """Command (reconciler → position): close the exchange's whole position on the symbol, reduce-only."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RepairStepDone:
    """Reply (trio → position): repair job ``step`` for ``position_id`` ended (``result`` or ``error``)."""

    step: str
    position_id: str
    result: object = None
    error: Exception | None = None


RepairMessage = Revalidate | AdoptExchangeClose | CancelOrphanOrders | FlattenSymbol | RepairStepDone
"""The repair messages a PositionActor handles (one ``match`` arm in its behaviour)."""
