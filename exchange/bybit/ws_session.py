"""The connection loop shared by the public and private sessions (D-03).

One trio service per channel: connect, let the subclass authenticate and subscribe, then read until the
socket closes or goes silent; reconnect with exponential backoff 200 ms → 3 s plus jitter. A ping goes out
every ``ping_interval_s``; a watchdog declares the link dead (half-open) when nothing, not even a pong,
arrived for the silence window. The socket is ``ws_transport.WsConnection``: wsproto parses the frames, and
the reader task drives it inline through ``WsConnection.pump``, which hands every complete message to
``_on_message`` without leaving the task (no task or channel hop per message); counting messages costs the
reader one integer add; the watchdog polls.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
import structlog
import trio

from exchange.bybit.events import Event
from exchange.bybit.sink import EventSink, SessionStats
from exchange.bybit.ws_transport import WsConnection, open_ws
from exchange.config import ExchangeConfig
from exchange.errors import ExchangeError, MessageParseError

__all__ = ["SessionSilentError", "WsSession"]

log = structlog.get_logger(__name__)

EventT = TypeVar("EventT", bound=Event)


class SessionSilentError(ExchangeError):
    """Raise inside a session when the socket stayed silent past its window (half-open link)."""


_RECONNECTABLE: tuple[type[BaseException], ...] = (
    trio.BrokenResourceError,
    trio.ClosedResourceError,
    trio.TooSlowError,
    OSError,
    ExchangeError,
)


class WsSession:
    """Base class: subclasses implement ``_on_open`` (auth/subscribe) and ``_on_message``."""

    channel = "ws"

    def __init__(
        self, config: ExchangeConfig, url: str, sink: EventSink, *, rng: random.Random | None = None
    ):
        self.config = config
        self.url = url
        self.sink = sink
        self.stats = SessionStats(self.channel)
        self._rng = rng or random.Random()
        self._ws: WsConnection | None = None
        self._ready = trio.Event()
        self._connections = 0
        self._req = 0

    # ------------------------------------------------------------ lifecycle
    @property
    def silence_window_s(self) -> float:
        """Return how long the link may stay silent before it is declared dead."""
        return self.config.silence_timeout_s

    async def wait_ready(self) -> None:
        """Wait until the session is connected and subscribed."""
        await self._ready.wait()

    def backoff_s(self, attempt: int) -> float:
        """Return the reconnect delay for ``attempt`` (0-based): exponential, capped, with jitter."""
        lo, hi = self.config.reconnect_backoff_min_s, self.config.reconnect_backoff_max_s
        base = min(hi, lo * 2.0**attempt)
        return base * (1.0 + 0.25 * self._rng.random())

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve forever: ``await nursery.start(session.run)``; then ``wait_ready`` for the first connect."""
        async with trio.open_nursery() as nursery:
            await self._start_helpers(nursery)
            task_status.started()
            attempt = 0
            while True:
                before = self._connections
                try:
                    await self._connect_once()
                except* _RECONNECTABLE as group:
                    log.warning("ws disconnected", channel=self.channel, error=repr(group.exceptions[0]))
                finally:
                    self._mark_down()
                if self._connections > before:
                    attempt = 0
                delay = self.backoff_s(attempt)
                attempt = min(attempt + 1, 16)
                self.stats.reconnects += 1
                await trio.sleep(delay)

    async def _start_helpers(self, nursery: trio.Nursery) -> None:
        """Start long-lived helper tasks (resync, fallback) in the session's nursery."""

    def _mark_down(self) -> None:
        self._ws = None
        self.stats.connected = False
        if self._ready.is_set():
            self._ready = trio.Event()

    async def _connect_once(self) -> None:
        cfg = self.config
        async with open_ws(
            self.url,
            connect_timeout_s=cfg.connect_timeout_s,
            receive_buffer_size=cfg.ws_receive_buffer_bytes,
            max_message_size=cfg.ws_max_message_bytes,
            slice_ms=cfg.ws_slice_ms,
        ) as ws:
            self._ws = ws
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._watchdog)
                with trio.fail_after(cfg.connect_timeout_s):
                    await self._on_open(ws, nursery)
                self._connections += 1
                self.stats.connected = True
                self._ready.set()
                log.info("ws ready", channel=self.channel, url=self.url, connection=self._connections)
                nursery.start_soon(self._pinger, ws)
                await self._reader(ws)

    async def _reader(self, ws: WsConnection) -> None:
        stats = self.stats
        handle = self._on_message

        def counted(raw: str | bytes) -> None:
            stats.messages += 1
            handle(raw)

        await ws.pump(counted)

    async def _pinger(self, ws: WsConnection) -> None:
        while True:
            await trio.sleep(self.config.ping_interval_s)
            await self.send({"op": "ping", "req_id": self.next_req_id("ping")})

    async def _watchdog(self) -> None:
        window = self.silence_window_s
        last_count = -1
        last_change = trio.current_time()
        while True:
            await trio.sleep(window / 4)
            count = self.stats.messages
            now = trio.current_time()
            if count != last_count:
                last_count, last_change = count, now
            elif now - last_change >= window:
                self.stats.silences += 1
                log.warning("ws silent", channel=self.channel, silent_s=round(now - last_change, 3))
                raise SessionSilentError(f"expected traffic on {self.channel} within {window}s, got none")

    # -------------------------------------------------------------- helpers
    def next_req_id(self, prefix: str) -> str:
        """Return a fresh ``req_id``."""
        self._req += 1
        return f"{prefix}-{self._req}"

    async def send(self, payload: dict[str, Any]) -> None:
        """Send one JSON frame on the live socket (dropped silently when down)."""
        ws = self._ws
        if ws is not None:
            await ws.send(orjson.dumps(payload))

    def publish(self, event: Event) -> None:
        """Hand one event to the sink; a failing sink is counted and logged, never fatal."""
        try:
            self.sink.publish(event)
        except Exception:  # the sink is another room's code: keep the feed alive whatever it does
            self.stats.sink_errors += 1
            log.exception("sink failed", channel=self.channel, event=type(event).__name__)

    def _control(self, msg: dict[str, Any]) -> None:
        """Log failed op replies (subscribe/auth); pongs only feed the silence watchdog."""
        if msg.get("success") is False:
            self.stats.subscribe_failures += 1
            log.error("ws op failed", channel=self.channel, op=msg.get("op"), ret_msg=msg.get("ret_msg"))

    def _decode(self, raw: str | bytes) -> dict[str, Any] | None:
        try:
            msg = orjson.loads(raw)
        except orjson.JSONDecodeError:
            self.stats.parse_errors += 1
            log.warning("ws message not json", channel=self.channel, size=len(raw))
            return None
        if not isinstance(msg, dict):
            self.stats.parse_errors += 1
            log.warning("ws message not an object", channel=self.channel)
            return None
        return msg

    def _events(self, msg: dict[str, Any], parse: Callable[[dict[str, Any]], list[EventT]]) -> list[EventT]:
        """Return the typed events of a topic push, or none when it does not parse (counted and logged)."""
        try:
            return parse(msg)
        except MessageParseError as exc:
            self.stats.parse_errors += 1
            log.warning("ws message unparsable", channel=self.channel, topic=exc.topic, error=str(exc))
            return []

    # ------------------------------------------------------------ subclass
    async def _on_open(self, ws: WsConnection, nursery: trio.Nursery) -> None:
        raise NotImplementedError

    def _on_message(self, raw: str | bytes) -> None:
        raise NotImplementedError
