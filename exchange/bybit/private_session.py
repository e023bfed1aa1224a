"""The private account session: auth, ``order``/``execution``/``position``/``wallet`` topics (D-03).

After every reconnect it catches up over REST on what the socket missed while down (D-03):

1. executions by time window (``/v5/execution/list`` from the last seen fill minus a margin, or from the
   disconnect), de-duplicated by ``execId`` against what the socket delivered;
2. positions (``/v5/position/list``): every open one, plus a per-symbol query for each position known to be
   open before the drop and now absent (so a position closed while down is published flat);
3. open orders (``/v5/order/realtime``), plus a by-id query for each order known to be open before the drop
   and now absent (so a fill or cancel while down is published with its final status).

Refreshed rows are published as ``PositionUpdate`` / ``OrderUpdate`` unless the socket already delivered a
newer state of the same order or position (``updatedTime``). A failing REST call is logged and skipped.

Once the catch-up is done (the socket is authenticated and re-subscribed, the REST refresh published), the
session calls ``on_resumed(at_ms)`` with the exchange time (``BybitRestClient.now_ms``): the engine turns it
into ``PrivateStreamResumed`` for every PositionActor, which re-validates against its own REST snapshot. The
first connection is not a resume (nothing was missed yet).
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from typing import Any

import structlog
import trio

from exchange.bybit.events import ExecutionReport, OrderUpdate, PositionUpdate
from exchange.bybit.messages import parse_private
from exchange.bybit.rest import BybitRestClient
from exchange.bybit.signing import ws_auth_signature
from exchange.bybit.sink import EventSink
from exchange.bybit.ws_session import WsSession
from exchange.bybit.ws_transport import WsConnection
from exchange.config import Credentials, ExchangeConfig
from exchange.errors import ExchangeError

__all__ = ["PRIVATE_TOPICS", "PrivateAuthError", "PrivateSession"]

log = structlog.get_logger(__name__)

PRIVATE_TOPICS = ("order", "execution", "position", "wallet")
_EXEC_ID_MEMORY = 4096
OPEN_ORDER_STATUSES = frozenset({"Created", "New", "PartiallyFilled", "Untriggered", "Triggered"})


class PrivateAuthError(ExchangeError):
    """Raise when the exchange refuses the WS ``auth`` op (bad key, signature or expiry)."""


class PrivateSession(WsSession):
    """Private WS service: ``await nursery.start(PrivateSession(cfg, creds, sink, rest).run)``."""

    channel = "private"

    def __init__(
        self,
        config: ExchangeConfig,
        credentials: Credentials,
        sink: EventSink,
        rest_client: BybitRestClient,
        *,
        rng: random.Random | None = None,
        on_resumed: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(config, config.ws_private_url, sink, rng=rng)
        self._credentials = credentials
        self.rest = rest_client
        self._on_resumed = on_resumed
        self.resumes = 0  # reconnects whose catch-up completed (``on_resumed`` calls)
        self._exec_seen: set[str] = set()
        self._exec_order: deque[str] = deque()
        self._last_exec_time_ms: int | None = None
        self._down_since_ms: int | None = None
        self._auth_reply: trio.MemorySendChannel[dict[str, Any]] | None = None
        self.open_orders: dict[str, OrderUpdate] = {}
        self.positions: dict[tuple[str, int], PositionUpdate] = {}

    @property
    def silence_window_s(self) -> float:
        """Private topics may be quiet for long: only a missing pong counts as silence."""
        return max(self.config.silence_timeout_s, self.config.ping_interval_s + self.config.pong_timeout_s)

    async def _on_open(self, ws: WsConnection, nursery: trio.Nursery) -> None:
        send, recv = trio.open_memory_channel[dict[str, Any]](4)
        self._auth_reply = send
        expires = self.rest.now_ms() + self.config.ws_auth_expiry_ms
        secret = self._credentials.api_secret.get_secret_value()
        await self.send(
            {
                "req_id": self.next_req_id("auth"),
                "op": "auth",
                "args": [self._credentials.api_key, expires, ws_auth_signature(secret, expires)],
            }
        )
        # the reader is not running yet: read until the auth reply, handling anything else normally
        while True:
            raw = await ws.receive_message()
            self.stats.messages += 1
            self._on_message(raw)
            try:
                reply = recv.receive_nowait()
            except trio.WouldBlock:
                continue
            break
        self._auth_reply = None
        if not reply.get("success"):
            log.error("ws auth refused", channel=self.channel, ret_msg=reply.get("ret_msg"))
            raise PrivateAuthError(f"expected auth success, got {reply.get('ret_msg')!r}")
        await self.send({"op": "subscribe", "req_id": self.next_req_id("sub"), "args": list(PRIVATE_TOPICS)})
        if self._connections > 0:
            nursery.start_soon(self._catch_up, self._backfill_start_ms())

    def _mark_down(self) -> None:
        if self._ws is not None and self._down_since_ms is None:
            self._down_since_ms = self.rest.now_ms()
        super()._mark_down()

    def _backfill_start_ms(self) -> int:
        margin = self.config.backfill_margin_ms
        candidates = [t for t in (self._last_exec_time_ms, self._down_since_ms) if t is not None]
        start = min(candidates) if candidates else self.rest.now_ms()
        return start - margin

    async def _catch_up(self, start_ms: int) -> None:
        await self._backfill(start_ms)
        await self._refresh_positions()
        await self._refresh_orders()
        self.resumes += 1
        if self._on_resumed is not None:
            try:
                self._on_resumed(self.rest.now_ms())
            except Exception:  # the callback is another room's code: the session must survive it
                log.exception("private resume callback failed", channel=self.channel)

    async def _refresh_positions(self) -> None:
        known_open = set(self.positions)
        try:
            rows = await self.rest.get_positions()
            seen = {(r.symbol, r.position_idx) for r in rows}
            for symbol in sorted({s for s, idx in known_open - seen}):
                rows += await self.rest.get_positions(symbol)
        except ExchangeError as exc:
            log.warning("position refresh failed", error=str(exc))
            return
        published = sum(self._accept_position(row, from_rest=True) for row in rows)
        self.stats.positions_refreshed += published
        log.info("positions refreshed", fetched=len(rows), published=published)

    async def _refresh_orders(self) -> None:
        known_open = dict(self.open_orders)
        try:
            rows = await self.rest.get_open_orders()
            missing = known_open.keys() - {r.order_id for r in rows}
            for order_id in sorted(missing):
                rows += await self.rest.get_open_orders(known_open[order_id].symbol, order_id=order_id)
        except ExchangeError as exc:
            log.warning("order refresh failed", error=str(exc))
            return
        published = sum(self._accept_order(row, from_rest=True) for row in rows)
        self.stats.orders_refreshed += published
        log.info("orders refreshed", fetched=len(rows), published=published)

    def _accept_position(self, row: PositionUpdate, *, from_rest: bool = False) -> bool:
        key = (row.symbol, row.position_idx)
        known = self.positions.get(key)
        if from_rest and known is not None and known.updated_time > row.updated_time:
            return False  # the socket already delivered a newer state
        if row.size:
            self.positions[key] = row
        else:
            self.positions.pop(key, None)
        self.publish(row)
        return True

    def _accept_order(self, row: OrderUpdate, *, from_rest: bool = False) -> bool:
        known = self.open_orders.get(row.order_id)
        if from_rest and known is not None and known.updated_time > row.updated_time:
            return False
        if row.status in OPEN_ORDER_STATUSES:
            self.open_orders[row.order_id] = row
        else:
            self.open_orders.pop(row.order_id, None)
        self.publish(row)
        return True

    async def _backfill(self, start_ms: int) -> None:
        end_ms = self.rest.now_ms() + self.config.backfill_margin_ms
        try:
            rows = await self.rest.get_executions_between(start_ms, end_ms)
        except ExchangeError as exc:
            log.warning("execution backfill failed", error=str(exc))
            return
        added = 0
        for report in sorted(rows, key=lambda r: r.exec_time):
            if self._accept_execution(report):
                added += 1
        self._down_since_ms = None
        self.stats.backfilled += added
        log.info("executions backfilled", fetched=len(rows), published=added)

    def _accept_execution(self, report: ExecutionReport) -> bool:
        if report.exec_id in self._exec_seen:
            self.stats.duplicates += 1
            return False
        self._exec_seen.add(report.exec_id)
        self._exec_order.append(report.exec_id)
        if len(self._exec_order) > _EXEC_ID_MEMORY:
            self._exec_seen.discard(self._exec_order.popleft())
        if self._last_exec_time_ms is None or report.exec_time > self._last_exec_time_ms:
            self._last_exec_time_ms = report.exec_time
        self.publish(report)
        return True

    def _on_message(self, raw: str | bytes) -> None:
        msg = self._decode(raw)
        if msg is None:
            return
        if "topic" not in msg:
            if msg.get("op") == "auth" and self._auth_reply is not None:
                self._auth_reply.send_nowait(msg)
                return
            self._control(msg)
            return
        for event in self._events(msg, parse_private):
            if isinstance(event, ExecutionReport):
                self._accept_execution(event)
            elif isinstance(event, OrderUpdate):
                self._accept_order(event)
            elif isinstance(event, PositionUpdate):
                self._accept_position(event)
            else:
                self.publish(event)
