"""Supervision paths of the engine's actors, in one place (DESIGN §1).

The tree is ``root → risk, monitor, symbols, reconciler``; ``symbols → <SYM> → position, signal,
indicator, feed``. Every module that names an actor by path — the composition root, the router, the
gateway's feed asks, the benches — takes it from here.
"""

from __future__ import annotations

__all__ = [
    "FEED",
    "INDICATOR",
    "MONITOR",
    "MONITOR_NAME",
    "POSITION",
    "RECONCILER",
    "RECONCILER_NAME",
    "RISK",
    "RISK_NAME",
    "ROOT",
    "SIGNAL",
    "SYMBOLS",
    "SYMBOLS_NAME",
    "feed_path",
    "indicator_path",
    "position_path",
    "sibling_path",
    "signal_path",
    "symbol_path",
]

ROOT = "root"
RISK_NAME = "risk"
MONITOR_NAME = "monitor"
RECONCILER_NAME = "reconciler"
SYMBOLS_NAME = "symbols"
FEED = "feed"
INDICATOR = "indicator"
SIGNAL = "signal"
POSITION = "position"

RISK = f"{ROOT}/{RISK_NAME}"
MONITOR = f"{ROOT}/{MONITOR_NAME}"
SYMBOLS = f"{ROOT}/{SYMBOLS_NAME}"
RECONCILER = f"{ROOT}/{RECONCILER_NAME}"


def symbol_path(symbol: str) -> str:
    """Return the path of ``symbol``'s supervisor (``root/symbols/<SYM>``)."""
    return f"{SYMBOLS}/{symbol}"


def feed_path(symbol: str) -> str:
    """Return the path of ``symbol``'s FeedActor."""
    return f"{symbol_path(symbol)}/{FEED}"


def indicator_path(symbol: str) -> str:
    """Return the path of ``symbol``'s IndicatorActor."""
    return f"{symbol_path(symbol)}/{INDICATOR}"


def signal_path(symbol: str) -> str:
    """Return the path of ``symbol``'s SignalActor."""
    return f"{symbol_path(symbol)}/{SIGNAL}"


def position_path(symbol: str) -> str:
    """Return the path of ``symbol``'s PositionActor (the one writer of its orders and positions)."""
    return f"{symbol_path(symbol)}/{POSITION}"


def sibling_path(path: str, name: str) -> str:
    """Return the path of sibling ``name`` of the actor at ``path`` (``a/b/feed`` → ``a/b/<name>``)."""
    parent, _, _ = path.rpartition("/")
    return f"{parent}/{name}"
