"""``Ask[R]``: the base of every message that is asked, naming the type of its reply.

A message class declares its reply once, ``class GetFeedStatus(Ask[FeedStatusReport])``, and the typed
``ChildRef.ask`` / ``ChildRef.ask_future`` / ``TrioBridge.ask`` overloads return ``R``, so a caller never
re-checks the reply with ``isinstance`` (pykka ``_ref.py`` types its proxies the same way).
"""

from __future__ import annotations

from typing import Generic, TypeVar

__all__ = ["Ask"]

R_co = TypeVar("R_co", covariant=True)


class Ask(Generic[R_co]):
    """Marker base of an asked message whose handler returns an ``R_co``; it adds no field and no slot."""

    __slots__ = ()
