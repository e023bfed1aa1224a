"""Fault knobs: misbehaviours a test (or the ``/sim/faults`` admin endpoint) switches on at run time.

Counters (``http_429``, ``seq_gap``, …) mean "the next N occurrences"; each use decrements them. Flags and
values (``latency_ms``, ``fill_delay_ms``) stay on until cleared. Actions (dropping connections, moving the
price) are methods on the simulator, not knobs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

__all__ = ["COUNTER_KNOBS", "FLAG_KNOBS", "VALUE_KNOBS", "Faults"]

COUNTER_KNOBS = (
    "http_429",
    "http_5xx",
    "rate_limit_10006",
    "drop_order_create_responses",
    "seq_gap",
    "u_reset",
    "duplicate",
    "out_of_order",
    "duplicate_executions",
    "reorder_executions",
)
FLAG_KNOBS = ("half_open", "stale", "mute_klines", "refuse_public")
VALUE_KNOBS = ("http_5xx_status", "rest_path_prefix", "latency_ms", "fill_delay_ms")


@dataclass(slots=True)
class Faults:
    """The venue's fault knobs (mutable state; all off by default).

    Attributes:
        http_429: next N REST requests answer HTTP 429 (retCode 10006 in the body).
        http_5xx: next N REST requests answer HTTP ``http_5xx_status`` with a plain-text body.
        http_5xx_status: the status used by ``http_5xx`` (502, 503 or 504).
        rate_limit_10006: next N REST requests answer HTTP 200 with retCode 10006 and exhausted limit headers.
        rest_path_prefix: the REST faults above only hit paths starting with this (default: all ``/v5/``).
        drop_order_create_responses: next N order creates are executed but their response never comes.
        latency_ms: added delay before every REST response and every public publication.
        seq_gap: next N ``orderbook`` deltas skip one ``u`` (and ``seq``), as if a message was lost.
        u_reset: next N ``orderbook`` publications are snapshots restarting at ``u`` = 1 (service restart).
        duplicate: next N public data messages are sent twice.
        out_of_order: next N public data messages are held back and sent after the following one of
            their topic.
        duplicate_executions: next N private ``execution`` messages are sent twice (same ``execId``s).
        reorder_executions: next N private ``execution`` messages are held back and sent right after the
            account's following ``execution`` message (the two arrive swapped; a held message waits for
            that next one).
        fill_delay_ms: while non-zero, a created order is acknowledged ``New`` and matched only this many
            real milliseconds later (its fills, position and wallet pushes come after the REST answer).
        half_open: every WebSocket stops sending (no data, no pong, no ack) but stays connected.
        stale: the market freezes; ticker and kline pushes keep repeating the same old payload and ``ts``.
        mute_klines: ``kline`` pushes silently stop (no close, no update) while books, trades and tickers go
            on; the bars still form and REST ``/v5/market/kline`` serves them.
        refuse_public: new public WebSockets are accepted and closed at once (an outage of the public
            stream: combine with ``/sim/drop`` to cut the live ones); the market runs on meanwhile.
    """

    http_429: int = 0
    http_5xx: int = 0
    http_5xx_status: int = 503
    rate_limit_10006: int = 0
    rest_path_prefix: str = "/v5/"
    drop_order_create_responses: int = 0
    latency_ms: int = 0
    seq_gap: int = 0
    u_reset: int = 0
    duplicate: int = 0
    out_of_order: int = 0
    duplicate_executions: int = 0
    reorder_executions: int = 0
    fill_delay_ms: int = 0
    half_open: bool = False
    stale: bool = False
    mute_klines: bool = False
    refuse_public: bool = False

    def take(self, knob: str) -> bool:
        """Consume one occurrence of counter ``knob``; return whether it fired."""
        left: int = getattr(self, knob)
        if left > 0:
            setattr(self, knob, left - 1)
            return True
        return False

    def update(self, changes: dict[str, Any]) -> None:
        """Set knobs from a JSON-like mapping, checking names and types.

        Raises:
            ValueError: an unknown knob or a negative count.
            TypeError: a value of the wrong type.
        """
        known = {f.name: f for f in fields(self)}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"expected a knob among {sorted(known)}, got {name!r}")
            current = getattr(self, name)
            if isinstance(current, bool):
                if not isinstance(value, bool):
                    raise TypeError(f"expected a boolean for {name}, got {value!r}")
            elif isinstance(current, int):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise TypeError(f"expected a non-negative integer for {name}, got {value!r}")
                if value < 0:
                    raise ValueError(f"expected a non-negative integer for {name}, got {value!r}")
            elif not isinstance(value, str):
                raise TypeError(f"expected a string for {name}, got {value!r}")
        for name, value in changes.items():
            setattr(self, name, value)

    def reset(self) -> None:
        """Switch every fault off."""
        for f in fields(self):
            setattr(self, f.name, getattr(Faults(), f.name))

    def as_dict(self) -> dict[str, Any]:
        """Return every knob and its value."""
        return asdict(self)
