"""Gateway configuration (G-02, O-03): bind address, CORS, per-IP limit, and the route tunables.

One frozen model for the room (STYLE §9), reachable as ``Settings.gateway``; every default is visible here.
``ask_timeout_s`` is the one timeout of every gateway → engine ask (DESIGN §3): a feed status ask, the
supervision tree snapshot, the pre-trade preview. ``order_timeout_s`` is the one timeout of the two order
commands (place, close): they wait for fills (``execution.fill_wait_seconds``, 3 s) plus REST round trips, so
it must exceed both. Either one outlived answers 503 with the reason (see ``gateway.errors``).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["GatewayConfig", "OutboxRelayConfig"]


class OutboxRelayConfig(BaseModel):
    """How the outbox relay moves UI events from PostgreSQL to the Redis Stream (G-03, DESIGN §5).

    Attributes:
        poll_s: the longest wait between two reads of the outbox when nothing wakes the relay (rows written by
            another process); rows committed by this process wake it at once.
        batch: the most rows read and relayed at a time.
        backoff_min_s / backoff_max_s: the retry wait after a failure (Redis or PostgreSQL down) doubles from
            the first to the second.
        retention_days: relayed rows older than this are deleted by the relay.
        purge_every_s: how often the relay deletes them.
        stream_maxlen: the Redis Stream is trimmed (approximately) to this many entries.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    poll_s: float = Field(default=1.0, gt=0, le=60)
    batch: int = Field(default=500, ge=1, le=10_000)
    backoff_min_s: float = Field(default=0.2, gt=0, le=60)
    backoff_max_s: float = Field(default=5.0, gt=0, le=600)
    retention_days: float = Field(default=7.0, gt=0, le=3650)
    purge_every_s: float = Field(default=3600.0, gt=0, le=86_400)
    stream_maxlen: int = Field(default=100_000, ge=100, le=10_000_000)

    @model_validator(mode="after")
    def _backoff_order(self) -> OutboxRelayConfig:
        if self.backoff_max_s < self.backoff_min_s:
            raise ValueError(
                "expected gateway.outbox.backoff_max_s >= backoff_min_s, "
                f"got {self.backoff_max_s} < {self.backoff_min_s}"
            )
        return self


class GatewayConfig(BaseModel):
    """Where the gateway listens, how it guards itself and how long it waits for the engine (G-02).

    Attributes:
        host: bind address (any: every route is behind authentication, U-07).
        tls_cert_file / tls_key_file: PEM certificate and key; both set serves HTTPS (HSTS, Secure cookies).
        trusted_proxies: addresses/CIDRs whose ``X-Forwarded-For`` is believed (client address, G-02).
        max_body_bytes: larger request bodies are refused with 413.
        port: TCP port; 0 picks a free one.
        allowed_origins: CORS origins; empty adds no CORS middleware.
        ip_rate_limit_per_min: requests per minute per client address (probes are exempt).
        ask_timeout_s: the one timeout of every gateway → engine ask; past it the route answers 503.
        order_timeout_s: how long ``POST /positions/open`` and ``/positions/{id}/close`` wait for the
            position actor's outcome; past it the route answers 503 and the order's fate shows in
            ``GET /positions``.
        probe_timeout_s: how long ``/ready`` waits for each storage probe and the engine's checks.
        heartbeat_s: SSE heartbeat period (each carries the market clock).
        stale_after_s: a feed quiet for longer (wall seconds) is reported stale.
        sse_client_buffer: events buffered per SSE client before it is dropped as too slow.
        sse_retry_ms: the ``retry:`` hint sent to SSE clients.
        sse_session_check_s: how often open streams' sessions are checked against the shared revocation list
            (a logout or deactivation on another gateway ends this gateway's streams within it).
        signals_cache_ttl_s: how long a rendered ``/signals`` page is reused; 0 disables the cache.
        graceful_timeout_s: how long in-flight requests may finish after the stop signal (O-03).
        outbox: the outbox relay's tunables (``OutboxRelayConfig``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8080, ge=0, le=65535)
    allowed_origins: tuple[str, ...] = ()
    ip_rate_limit_per_min: int = Field(default=100, ge=1, le=100_000)
    ask_timeout_s: float = Field(default=2.0, gt=0, le=60)
    order_timeout_s: float = Field(default=10.0, gt=0, le=120)
    probe_timeout_s: float = Field(default=2.0, gt=0, le=60)
    heartbeat_s: float = Field(default=15.0, gt=0, le=3600)
    stale_after_s: float = Field(default=30.0, gt=0)
    sse_client_buffer: int = Field(default=256, ge=1, le=100_000)
    sse_retry_ms: int = Field(default=2000, ge=0, le=600_000)
    sse_session_check_s: float = Field(default=5.0, gt=0, le=600)
    signals_cache_ttl_s: float = Field(default=1.0, ge=0, le=60)
    graceful_timeout_s: float = Field(default=30.0, gt=0, le=600)
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    trusted_proxies: tuple[str, ...] = ()
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=16 * 1024 * 1024)
    outbox: OutboxRelayConfig = Field(default_factory=OutboxRelayConfig)

    @model_validator(mode="after")
    def _tls_pair(self) -> GatewayConfig:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("expected both gateway.tls_cert_file and gateway.tls_key_file, or neither")
        import ipaddress

        for proxy in self.trusted_proxies:
            ipaddress.ip_network(proxy, strict=False)  # ValueError names the bad entry
        return self
