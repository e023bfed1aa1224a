"""Classify one symbol's snapshot into findings (C-02), without I/O: the reconciler's pure rules.

What is compared (one-way mode: one net position per symbol on the exchange):

* **position** — the *expected* net size is the fold of every stored fill of the held positions plus the
  exchange's fills of *our* orders that PostgreSQL does not store yet (a fill the stream missed, an order
  filled while the engine was down). Against the exchange's size:

  - both flat, or equal → nothing (the missing fills are a ``warning`` ``execution_missing``, repaired by
    re-validation: the PositionActor stores them);
  - exchange flat, ours open → ``warning`` ``exchange_closed``: closed outside the system (by hand, another
    client); repaired by adopting the close with the exchange's closed PnL;
  - exchange open, nothing held → ``critical`` ``position_unknown``;
  - opposite sides → ``critical`` ``side_mismatch``; different sizes → ``critical`` ``size_mismatch``
    (fills of other clients are named in the details);
  - average entry further apart than the tolerance → ``info`` ``entry_price_drift``;

* **open orders** — an order with our ``orderLinkId`` shape that no unfinished position owns is an orphan:
  ``warning`` ``orphan_order`` when configured to cancel it, else ``critical``; an order of another client
  is ``critical`` ``foreign_order``; a live stored order the exchange no longer lists, or lists with another
  quantity or price, is ``info`` (entry/close IOC: finishing) or ``warning`` (a protective order:
  ``protection_drift``), repaired by re-validation;
* **the PositionActor** — its view differing from PostgreSQL is ``info`` ``actor_behind`` (a write in
  flight); an actor that did not answer is ``info`` ``actor_unreachable``.

Each finding has a ``key`` naming the drift across passes (one log row per drift while it lasts).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from exchange.bybit import ExecutionReport
from storage import ExecutionRecord, OrderRecord, PositionRecord
from strategy_core.execution import EXEC_TYPE_FUNDING, ExecFill, Ledger, OrderPurpose, OrderStatus
from strategy_core.models import Side

from .config import ReconcilerConfig
from .snapshot import SymbolSnapshot

__all__ = ["Finding", "FindingSeverity", "Repair", "classify", "is_own_link"]

_OWN_LINK = re.compile(r"^[0-9a-f]{28}-[eustxfc]\d{1,5}$")
_HELD = ("opening", "open", "partial_accepted", "closing", "failed_underfill")
_PROTECTIVE = (OrderPurpose.SL.value, OrderPurpose.TP.value)


class FindingSeverity(enum.StrEnum):
    """C-02: info (cosmetic), warning (repaired), critical (kill switch)."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Repair(enum.StrEnum):
    """What the reconciler asks the owner (the symbol's PositionActor) to do about a finding."""

    REVALIDATE = "revalidate"
    ADOPT_CLOSE = "adopt_close"
    CANCEL_ORPHANS = "cancel_orphans"


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One discrepancy: what, how bad, where, the repair asked (``targets``: order links to cancel)."""

    key: str
    symbol: str
    severity: FindingSeverity
    kind: str
    details: tuple[tuple[str, str], ...] = ()
    position_id: str | None = None
    repair: Repair | None = None
    targets: tuple[str, ...] = ()

    @property
    def sentence(self) -> str:
        """Return the finding as one line (the kill switch's reason)."""
        shown = ", ".join(f"{k}={v}" for k, v in self.details)
        return f"{self.kind} on {self.symbol}" + (f" ({shown})" if shown else "")


def is_own_link(link: str) -> bool:
    """Return whether ``link`` has the shape of our deterministic ``orderLinkId`` (``order_link_id``)."""
    return bool(_OWN_LINK.match(link))


def _fill(e: ExecutionRecord | ExecutionReport) -> ExecFill:
    side: Literal["Buy", "Sell"]
    if isinstance(e, ExecutionRecord):
        side = "Buy" if e.side == "Buy" else "Sell"
        return ExecFill(e.exec_id, e.order_link_id, side, e.price, e.qty, e.fee, e.exec_type)
    side = "Buy" if e.side == "Buy" else "Sell"
    fee = e.exec_fee or Decimal(0)
    return ExecFill(e.exec_id, e.order_link_id, side, e.exec_price, e.exec_qty, fee, e.exec_type)


def _signed(side: Side, qty: Decimal) -> Decimal:
    return qty if side is Side.LONG else -qty


def _details(**values: object) -> tuple[tuple[str, str], ...]:
    return tuple((k, str(v)) for k, v in values.items() if v is not None)


@dataclass
class _Held:
    record: PositionRecord
    orders: list[OrderRecord]
    ledger: Ledger
    missing: list[str]


def _held(snapshot: SymbolSnapshot) -> list[_Held]:
    book = snapshot.held
    out: list[_Held] = []
    for record in book.positions:
        if record.status not in _HELD:
            continue
        side = Side(record.side)
        orders = [o for o in book.orders if o.position_id == record.id]
        ledger = Ledger(side=side)
        for e in book.executions:
            if e.position_id == record.id:
                ledger = ledger.apply_fill(_fill(e))
        links = {o.client_order_id for o in orders}
        missing: list[str] = []
        for report in snapshot.executions:
            if report.order_link_id in links and report.exec_id not in ledger.fills:
                if report.exec_id not in snapshot.known_exec_ids:
                    missing.append(report.exec_id)
                ledger = ledger.apply_fill(_fill(report))
        out.append(_Held(record, orders, ledger, missing))
    return out


def classify(snapshot: SymbolSnapshot, config: ReconcilerConfig) -> list[Finding]:
    """Return the findings of one symbol's snapshot (see the module docstring)."""
    held = _held(snapshot)
    findings = list(_missing_fills(snapshot.symbol, held))
    findings += _positions(snapshot, held, config)
    findings += _orders(snapshot, held, config)
    findings += _actor(snapshot)
    return findings


def _missing_fills(symbol: str, held: Iterable[_Held]) -> Iterable[Finding]:
    for h in held:
        if h.missing:
            yield Finding(
                key=f"execution_missing:{h.record.id}",
                symbol=symbol,
                severity=FindingSeverity.WARNING,
                kind="execution_missing",
                details=_details(exec_ids=",".join(sorted(h.missing)), count=len(h.missing)),
                position_id=h.record.id,
                repair=Repair.REVALIDATE,
            )


def _positions(snapshot: SymbolSnapshot, held: list[_Held], config: ReconcilerConfig) -> list[Finding]:
    symbol, exchange = snapshot.symbol, snapshot.exchange_position
    expected = sum((_signed(h.ledger.side, h.ledger.open_qty) for h in held), Decimal(0))
    actual = Decimal(0)
    if exchange is not None and exchange.size > 0:
        actual = exchange.size if exchange.side == "Buy" else -exchange.size
    foreign = sorted(
        r.exec_id
        for r in snapshot.executions
        if r.exec_type != EXEC_TYPE_FUNDING and not is_own_link(r.order_link_id)
    )
    if snapshot.exchange_moved:
        return []  # a fill landed while the pass read: the next pass judges the size
    if actual == expected:
        return _entry_drift(snapshot, held, config) if actual != 0 else []
    live = [h for h in held if h.ledger.open_qty != 0]
    if actual == 0:
        return [
            Finding(
                key=f"exchange_closed:{h.record.id}",
                symbol=symbol,
                severity=FindingSeverity.WARNING,
                kind="exchange_closed",
                details=_details(expected=expected, foreign_exec_ids=",".join(foreign) or None),
                position_id=h.record.id,
                repair=Repair.ADOPT_CLOSE,
            )
            for h in live
        ]
    if not live:
        return [
            Finding(
                key=f"position_unknown:{symbol}",
                symbol=symbol,
                severity=FindingSeverity.CRITICAL,
                kind="position_unknown",
                details=_details(exchange=actual, foreign_exec_ids=",".join(foreign) or None),
            )
        ]
    kind = "side_mismatch" if expected * actual < 0 else "size_mismatch"
    return [
        Finding(
            key=f"{kind}:{symbol}",
            symbol=symbol,
            severity=FindingSeverity.CRITICAL,
            kind=kind,
            details=_details(expected=expected, exchange=actual, foreign_exec_ids=",".join(foreign) or None),
            position_id=live[0].record.id,
        )
    ]


def _entry_drift(snapshot: SymbolSnapshot, held: list[_Held], config: ReconcilerConfig) -> list[Finding]:
    exchange = snapshot.exchange_position
    live = [h for h in held if h.ledger.open_qty != 0]
    if exchange is None or exchange.entry_price is None or len(live) != 1:
        return []
    ours = live[0].ledger.avg_entry
    if ours is None or ours == 0:
        return []
    if abs(exchange.entry_price - ours) / ours <= config.entry_price_tolerance:
        return []
    return [
        Finding(
            key=f"entry_price_drift:{live[0].record.id}",
            symbol=snapshot.symbol,
            severity=FindingSeverity.INFO,
            kind="entry_price_drift",
            details=_details(ours=ours, exchange=exchange.entry_price),
            position_id=live[0].record.id,
        )
    ]


def _orders(snapshot: SymbolSnapshot, held: list[_Held], config: ReconcilerConfig) -> list[Finding]:
    symbol = snapshot.symbol
    live_orders = {
        o.client_order_id: (h, o) for h in held for o in h.orders if not OrderStatus(o.status).terminal
    }
    findings: list[Finding] = []
    orphans: list[str] = []
    listed = set()
    for order in snapshot.open_orders:
        link = order.order_link_id
        listed.add(link)
        if link in live_orders:
            h, stored = live_orders[link]
            price_differs = stored.price is not None and order.price and order.price != stored.price
            if order.qty != stored.qty or price_differs:
                findings.append(_order_drift(symbol, h, stored, exchange_qty=order.qty))
            continue
        if is_own_link(link):
            orphans.append(link)
            continue
        findings.append(
            Finding(
                key=f"foreign_order:{order.order_id}",
                symbol=symbol,
                severity=FindingSeverity.CRITICAL,
                kind="foreign_order",
                details=_details(order_id=order.order_id, side=order.side, qty=order.qty, price=order.price),
            )
        )
    if orphans:
        findings.append(
            Finding(
                key=f"orphan_order:{symbol}:{','.join(sorted(orphans))}",
                symbol=symbol,
                severity=FindingSeverity.WARNING if config.cancel_own_orphans else FindingSeverity.CRITICAL,
                kind="orphan_order",
                details=_details(order_link_ids=",".join(sorted(orphans))),
                repair=Repair.CANCEL_ORPHANS if config.cancel_own_orphans else None,
                targets=tuple(sorted(orphans)),
            )
        )
    for link, (h, stored) in live_orders.items():
        if link not in listed and stored.status != OrderStatus.NEW.value:
            findings.append(_order_drift(symbol, h, stored, exchange_qty=None))
    return findings


def _order_drift(symbol: str, h: _Held, stored: OrderRecord, *, exchange_qty: Decimal | None) -> Finding:
    protective = stored.purpose in _PROTECTIVE
    return Finding(
        key=f"{'protection' if protective else 'order'}_drift:{stored.client_order_id}",
        symbol=symbol,
        severity=FindingSeverity.WARNING if protective else FindingSeverity.INFO,
        kind="protection_drift" if protective else "order_drift",
        details=_details(
            order_link_id=stored.client_order_id,
            stored_status=stored.status,
            stored_qty=stored.qty,
            exchange_qty=exchange_qty if exchange_qty is not None else "not open",
        ),
        position_id=h.record.id,
        repair=Repair.REVALIDATE,
    )


def _actor(snapshot: SymbolSnapshot) -> list[Finding]:
    symbol = snapshot.symbol
    if snapshot.actor is None:
        return [
            Finding(
                key=f"actor_unreachable:{symbol}",
                symbol=symbol,
                severity=FindingSeverity.INFO,
                kind="actor_unreachable",
            )
        ]
    views = {v.id: v for v in snapshot.actor}
    findings: list[Finding] = []
    for record in snapshot.held.positions:
        if record.status not in _HELD:
            continue
        view = views.get(record.id)
        same = view is not None and view.status.value == record.status
        if not same or view is None or view.executed_size != record.executed_size_base:
            findings.append(
                Finding(
                    key=f"actor_behind:{record.id}",
                    symbol=symbol,
                    severity=FindingSeverity.INFO,
                    kind="actor_behind",
                    details=_details(
                        stored_status=record.status,
                        actor_status=None if view is None else view.status.value,
                    ),
                    position_id=record.id,
                )
            )
    return findings
