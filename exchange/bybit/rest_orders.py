"""The order-management and history endpoints of the REST client (E-02, E-04, E-06).

``OrderEndpoints`` is mixed into ``BybitRestClient``, whose ``_call`` (signing, rate-limit tokens, retries,
the retCode → ``BybitApiError`` translation) every method here goes through, so each rejection carries
Bybit's ``retCode`` and ``retMsg``. Money is ``Decimal`` throughout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from exchange.bybit.events import OrderUpdate
from exchange.bybit.messages import order_from_raw
from exchange.bybit.models import AmendRequest, ClosedPnl, OrderAck
from exchange.config import ExchangeConfig

__all__ = ["ClosedPnlPage", "OrderEndpoints", "OrderFilter", "OrderPage"]

OrderFilter = Literal["Order", "StopOrder"]


@dataclass(frozen=True, slots=True)
class OrderPage:
    """One page of ``/v5/order/history`` (newest first)."""

    items: tuple[OrderUpdate, ...]
    next_cursor: str


@dataclass(frozen=True, slots=True)
class ClosedPnlPage:
    """One page of ``/v5/position/closed-pnl`` (newest first)."""

    items: tuple[ClosedPnl, ...]
    next_cursor: str


class OrderEndpoints:
    """Amend, cancel-all, order history, one order by id and closed-PnL pages."""

    config: ExchangeConfig

    async def _call(  # pragma: no cover - BybitRestClient provides it
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        signed: bool = False,
        bucket: str = "rest_read",
        unsafe: bool = False,
    ) -> Any:
        raise NotImplementedError

    def _scope(self, symbol: str | None, settle_coin: str | None) -> dict[str, object]:  # pragma: no cover
        raise NotImplementedError

    async def amend_order(self, request: AmendRequest) -> OrderAck:
        """Change an open order's qty, limit price or trigger price (R-05 moves the stop-loss so).

        Raises:
            BybitApiError: e.g. ``ORDER_NOT_EXISTS`` (110001) for an unknown or finished order,
                ``NOT_MODIFIED`` (34040) when the order already carries these values (also the answer to a
                retried amend whose first answer was lost), ``TRIGGER_NOT_BELOW_PRICE`` (110093).
        """
        r = await self._call("POST", "/v5/order/amend", request.to_body(), signed=True, bucket="rest_order")
        return OrderAck.model_validate(r)

    async def cancel_all_orders(
        self,
        symbol: str | None = None,
        *,
        settle_coin: str | None = None,
        order_filter: OrderFilter | None = None,
    ) -> list[OrderAck]:
        """Cancel every open order of ``symbol`` (or of ``settle_coin``); return the cancelled ones."""
        r = await self._call(
            "POST",
            "/v5/order/cancel-all",
            {
                **self._scope(symbol, settle_coin),
                "orderFilter": order_filter,
            },
            signed=True,
            bucket="rest_order",
        )
        return [OrderAck.model_validate(row) for row in r["list"]]

    async def get_order_history(
        self,
        symbol: str | None = None,
        *,
        order_id: str | None = None,
        order_link_id: str | None = None,
        order_status: str | None = None,
        order_filter: OrderFilter | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> OrderPage:
        """Return one page of ``/v5/order/history`` (finished orders; any state when named by id)."""
        r = await self._call(
            "GET",
            "/v5/order/history",
            {
                "category": self.config.category,
                "symbol": symbol,
                "orderId": order_id,
                "orderLinkId": order_link_id,
                "orderStatus": order_status,
                "orderFilter": order_filter,
                "startTime": start_time,
                "endTime": end_time,
                "limit": limit,
                "cursor": cursor or None,
            },
            signed=True,
        )
        items = tuple(order_from_raw(row, self.config.category) for row in r["list"])
        return OrderPage(items, str(r.get("nextPageCursor") or ""))

    async def get_order(
        self, symbol: str, *, order_id: str | None = None, order_link_id: str | None = None
    ) -> OrderUpdate | None:
        """Return one order by id or ``orderLinkId`` from ``/v5/order/realtime``, else from the history;
        ``None`` when the exchange does not know it (an intent that never reached it, E-02)."""
        if order_id is None and order_link_id is None:
            raise ValueError("expected order_id or order_link_id")
        params = {
            "category": self.config.category,
            "symbol": symbol,
            "orderId": order_id,
            "orderLinkId": order_link_id,
        }
        for path in ("/v5/order/realtime", "/v5/order/history"):
            r = await self._call("GET", path, params, signed=True)
            if r["list"]:
                return order_from_raw(r["list"][0], self.config.category)
        return None

    async def get_closed_pnl(
        self,
        symbol: str | None = None,
        *,
        start_time: int | None = None,
        end_time: int | None = None,
        limit: int = 50,
    ) -> list[ClosedPnl]:
        """Return the first page of ``/v5/position/closed-pnl`` rows."""
        page = await self.get_closed_pnl_page(symbol, start_time=start_time, end_time=end_time, limit=limit)
        return list(page.items)

    async def get_closed_pnl_page(
        self,
        symbol: str | None = None,
        *,
        start_time: int | None = None,
        end_time: int | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> ClosedPnlPage:
        """Return one page of ``/v5/position/closed-pnl`` with its cursor."""
        r = await self._call(
            "GET",
            "/v5/position/closed-pnl",
            {
                "category": self.config.category,
                "symbol": symbol,
                "startTime": start_time,
                "endTime": end_time,
                "limit": limit,
                "cursor": cursor or None,
            },
            signed=True,
        )
        items = tuple(ClosedPnl.model_validate(row) for row in r["list"])
        return ClosedPnlPage(items, str(r.get("nextPageCursor") or ""))
