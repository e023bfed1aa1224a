"""Fail-closed asks to the RiskActor from the trio side (R-04 "fail closed").

An order path must never read a missing answer as approval. ``ask_order_verdict`` turns every way an ask can
fail — the actor is restarting (``AskTimeout``), stopped or failed (``ActorUnavailable``), or crashed while
handling the ask (the handler's exception) — into an ``OrderDenied`` with reason code ``risk_unavailable``.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

import structlog

from supervision import ActorUnavailable, Ask, AskTimeout, ChildRef

from .messages import CheckOrder, OrderDenied, OrderVerdict

__all__ = ["RISK_UNAVAILABLE", "RiskAsker", "ask_order_verdict"]

log = structlog.get_logger(__name__)

RISK_UNAVAILABLE = "risk_unavailable"

R = TypeVar("R")


class RiskAsker(Protocol):
    """What awaits an actor's reply from trio (``supervision.TrioBridge`` satisfies it)."""

    async def ask(self, ref: ChildRef, message: Ask[R], *, timeout: float) -> R:  # noqa: ASYNC109 (bridge API)
        """Ask ``ref`` and await its reply."""
        ...


async def ask_order_verdict(
    bridge: RiskAsker,
    risk_ref: ChildRef,
    order: CheckOrder,
    *,
    timeout: float = 0.5,  # noqa: ASYNC109 (passed to the bridge, which maps it to trio.move_on_after)
) -> OrderVerdict:
    """Ask the RiskActor to pre-check ``order``; return its verdict, or ``OrderDenied`` when none came.

    Never raises for an unavailable or failing RiskActor: the caller gets a denial it can show and audit.
    """
    try:
        verdict = await bridge.ask(risk_ref, order, timeout=timeout)
    except (AskTimeout, ActorUnavailable) as exc:
        return _unavailable(order, f"the risk actor did not answer: {exc}")
    except Exception as exc:  # boundary: a crash while handling the ask must read as a denial, not approval
        return _unavailable(order, f"the risk actor failed: {type(exc).__name__}: {exc}")
    if verdict.order_id == order.order_id:
        return verdict
    return _unavailable(order, f"expected the verdict of order {order.order_id}, got {verdict.order_id}")


def _unavailable(order: CheckOrder, reason: str) -> OrderDenied:
    log.warning("risk check failed closed", order_id=order.order_id, reason=reason)
    return OrderDenied(order_id=order.order_id, reason_code=RISK_UNAVAILABLE, reason=reason)
