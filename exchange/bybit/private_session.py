"""The private account session: auth, ``order``/``execution``/``position``/``wallet`` topics (D-03).

After every reconnect it backfills executions missed while down over REST by time window
(``/v5/execution/list`` from the last seen fill minus a margin, or from the disconnect), de-duplicating
by ``execId`` against what the socket delivered.
"""

from __future__ import annotations

import random
from collections import deque
from typing import Any

import structlog
import trio

from exchange.bybit.events import ExecutionReport
from exchange.bybit.messages import parse_private
from exchange.bybit.rest import BybitRestClient
from exchange.bybit.signing import ws_auth_signature
from exchange.bybit.sink import EventSink
from exchange.bybit.ws_session import WsSession
from exchange.bybit.ws_transport import WsConnection
from exchange.config import Credentials, ExchangeConfig
from exchange.errors import ExchangeError, MessageParseError

__all__ = ["PRIVATE_TOPICS", "PrivateAuthError", "PrivateSession"]

log = structlog.get_logger(__name__)

PRIVATE_TOPICS = ("order", "execution", "position", "wallet")
_EXEC_ID_MEMORY = 4096


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
    ) -> None:
        super().__init__(config, config.ws_private_url, sink, rng=rng)
        self._credentials = credentials
        self.rest = rest_client
        self._exec_seen: set[str] = set()
        self._exec_order: deque[str] = deque()
        self._last_exec_time_ms: int | None = None
        self._down_since_ms: int | None = None
        self._auth_reply: trio.MemorySendChannel[dict[str, Any]] | None = None

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
            nursery.start_soon(self._backfill, self._backfill_start_ms())

    def _mark_down(self) -> None:
        if self._ws is not None and self._down_since_ms is None:
            self._down_since_ms = self.rest.now_ms()
        super()._mark_down()

    def _backfill_start_ms(self) -> int:
        margin = self.config.backfill_margin_ms
        candidates = [t for t in (self._last_exec_time_ms, self._down_since_ms) if t is not None]
        start = min(candidates) if candidates else self.rest.now_ms()
        return start - margin

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
        try:
            events = parse_private(msg)
        except MessageParseError as exc:
            self.stats.parse_errors += 1
            log.warning("ws message unparsable", channel=self.channel, topic=exc.topic, error=str(exc))
            return
        for event in events:
            if type(event) is ExecutionReport:
                self._accept_execution(event)
            else:
                self.publish(event)
