"""Handlers of the signed trading endpoints (order, execution, position, account)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import trio

from exchange.simulator.accounts import Account
from exchange.simulator.amend import amend_order, cancel_all
from exchange.simulator.errors import BybitRejection
from exchange.simulator.faults import Faults
from exchange.simulator.matching import MatchingEngine
from exchange.simulator.rest_market import int_param, require_linear

__all__ = ["TradeApi"]


def _page(
    items: Sequence[dict[str, Any]], params: dict[str, Any], default: int, most: int
) -> tuple[list[dict[str, Any]], str]:
    limit = int_param(params, "limit", default, 1, most) or default
    offset = int_param(params, "cursor", 0) or 0
    chosen = list(items[offset : offset + limit])
    more = offset + limit < len(items)
    return chosen, str(offset + limit) if more else ""


def _window(params: dict[str, Any]) -> tuple[int | None, int | None]:
    return int_param(params, "startTime", None), int_param(params, "endTime", None)


def _within(ms: int, start: int | None, end: int | None) -> bool:
    return (start is None or ms >= start) and (end is None or ms <= end)


class TradeApi:
    """Serve the signed endpoints from the matching engine.

    Args:
        engine: accounts and matching.
        faults: fault knobs (``fill_delay_ms`` postpones the first match of a created order).
    """

    def __init__(self, engine: MatchingEngine, faults: Faults | None = None) -> None:
        self._engine = engine
        self._faults = faults or Faults()

    @staticmethod
    def _account(account: Account | None) -> Account:
        if account is None:  # the REST layer authenticates every signed route before calling us
            raise BybitRejection(10003, "API key is invalid.")
        return account

    def create(self, params: dict[str, Any], account: Account | None) -> dict[str, Any]:
        """``POST /v5/order/create``."""
        delay_ms = self._faults.fill_delay_ms
        fill_at = trio.current_time() + delay_ms / 1000 if delay_ms else None
        order = self._engine.create_order(self._account(account), params, fill_at)
        return {"orderId": order.order_id, "orderLinkId": order.order_link_id}

    def amend(self, params: dict[str, Any], account: Account | None) -> dict[str, Any]:
        """``POST /v5/order/amend`` by ``orderId`` or ``orderLinkId`` (qty, price, triggerPrice)."""
        order = amend_order(self._engine, self._account(account), params)
        return {"orderId": order.order_id, "orderLinkId": order.order_link_id}

    def cancel_all(self, params: dict[str, Any], account: Account | None) -> dict[str, Any]:
        """``POST /v5/order/cancel-all`` by ``symbol`` or ``settleCoin``, optionally one ``orderFilter``."""
        orders = cancel_all(self._engine, self._account(account), params)
        return {
            "list": [{"orderId": o.order_id, "orderLinkId": o.order_link_id} for o in orders],
            "success": "1",
        }

    def history(self, params: dict[str, Any], account: Account | None) -> dict[str, Any]:
        """``GET /v5/order/history``: finished orders newest first (any state when named by id).

        Filters: ``symbol``, ``orderId``, ``orderLinkId``, ``orderStatus``, ``orderFilter`` (Order or
        StopOrder), ``startTime``/``endTime`` on ``createdTime``; ``limit`` (≤ 50) and ``cursor`` paging.
        """
        require_linear(params)
        acct = self._account(account)
        start, end = _window(params)
        symbol, status, wanted = params.get("symbol"), params.get("orderStatus"), params.get("orderFilter")
        if params.get("orderId") or params.get("orderLinkId"):
            found = self._engine.find_order(acct, params)
            orders = [found] if found is not None else []
        else:
            orders = [o for o in reversed(acct.orders.values()) if not o.is_open]
        chosen = [
            o.to_wire()
            for o in orders
            if (not symbol or o.symbol == symbol)
            and (not status or o.status == status)
            and (not wanted or (wanted == "StopOrder") == o.conditional)
            and _within(o.created_ms, start, end)
        ]
        page, cursor = _page(chosen, params, 20, 50)
        return {"category": "linear", "list": page, "nextPageCursor": cursor}

    def cancel(self, params: dict[str, Any], account: Account | None) -> dict[str, Any]:
        """``POST /v5/order/cancel`` by ``orderId`` or ``orderLinkId``."""
        require_linear(params)
        order = self._engine.cancel_order(self._account(account), params)
        return {"orderId": order.order_id, "orderLinkId": order.order_link_id}

    def realtime(self, params: dict[str, Any], account: Account | None) -> dict[str, Any]:
        """``GET /v5/order/realtime``: open orders (``Untriggered`` included); closed ones too by id or with
        ``openOnly=1``; ``orderFilter`` Order or StopOrder narrows to plain or conditional orders."""
        require_linear(params)
        acct = self._account(account)
        symbol = params.get("symbol")
        by_id = params.get("orderId") or params.get("orderLinkId")
        if by_id:
            order = self._engine.find_order(acct, params)
            orders = [order] if order is not None else []
        else:
            closed_too = params.get("openOnly") == "1"
            orders = [o for o in reversed(acct.orders.values()) if o.is_open or closed_too]
        wanted = params.get("orderFilter")
        orders = [
            o
            for o in orders
            if (not symbol or o.symbol == symbol) and (not wanted or (wanted == "StopOrder") == o.conditional)
        ]
        page, cursor = _page([o.to_wire() for o in orders], params, 20, 50)
        return {"category": "linear", "list": page, "nextPageCursor": cursor}

    def executions(self, params: dict[str, Any], account: Account | None) -> dict[str, Any]:
        """``GET /v5/execution/list``: fills and funding, newest first, filtered by symbol/order/time."""
        require_linear(params)
        acct = self._account(account)
        start, end = _window(params)
        symbol, order_id = params.get("symbol"), params.get("orderId")
        link, exec_type = params.get("orderLinkId"), params.get("execType")
        chosen = [
            e.to_wire()
            for e in reversed(acct.executions)
            if (not symbol or e.symbol == symbol)
            and (not order_id or e.order_id == order_id)
            and (not link or e.order_link_id == link)
            and (not exec_type or e.exec_type == exec_type)
            and _within(e.exec_time, start, end)
        ]
        page, cursor = _page(chosen, params, 50, 100)
        return {"category": "linear", "list": page, "nextPageCursor": cursor}

    def positions(self, params: dict[str, Any], account: Account | None) -> dict[str, Any]:
        """``GET /v5/position/list`` by ``symbol`` (even when flat) or ``settleCoin=USDT`` (open ones)."""
        require_linear(params)
        acct = self._account(account)
        symbol = params.get("symbol")
        marks = self._engine.marks()
        if symbol:
            if symbol not in self._engine.markets:
                raise BybitRejection(10001, "params error: symbol invalid")
            chosen = [acct.position(str(symbol))]
        elif params.get("settleCoin") == "USDT":
            chosen = [p for p in acct.positions.values() if p.size]
        else:
            raise BybitRejection(10001, "params error: symbol or settleCoin is required")
        page, cursor = _page([p.to_wire(marks[p.symbol], acct.leverage) for p in chosen], params, 20, 200)
        return {"category": "linear", "list": page, "nextPageCursor": cursor}

    def closed_pnl(self, params: dict[str, Any], account: Account | None) -> dict[str, Any]:
        """``GET /v5/position/closed-pnl``: newest first."""
        require_linear(params)
        acct = self._account(account)
        start, end = _window(params)
        symbol = params.get("symbol")
        chosen = [
            c.to_wire()
            for c in reversed(acct.closed_pnls)
            if (not symbol or c.symbol == symbol) and _within(c.updated_ms, start, end)
        ]
        page, cursor = _page(chosen, params, 50, 100)
        return {"category": "linear", "list": page, "nextPageCursor": cursor}

    def account_info(self, params: dict[str, Any], account: Account | None) -> dict[str, Any]:
        """``GET /v5/account/info``."""
        self._account(account)
        return {
            "marginMode": "REGULAR_MARGIN",
            "updatedTime": "0",
            "unifiedMarginStatus": 4,
            "dcpStatus": "OFF",
            "timeWindow": 10,
            "smpGroup": 0,
            "isMasterTrader": False,
            "spotHedgingStatus": "OFF",
        }

    def wallet_balance(self, params: dict[str, Any], account: Account | None) -> dict[str, Any]:
        """``GET /v5/account/wallet-balance?accountType=UNIFIED``."""
        acct = self._account(account)
        if params.get("accountType") != "UNIFIED":
            raise BybitRejection(10001, "params error: accountType only support UNIFIED")
        coin = params.get("coin")
        wallet = acct.wallet_wire(self._engine.marks())
        if coin and coin != "USDT":
            wallet["coin"] = []
        return {"list": [wallet]}
