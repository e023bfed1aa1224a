"""Helpers shared by every room's tests: ``eventually`` polling instead of sleeps."""

from __future__ import annotations

from tests.support.eventually import eventually, eventually_async

__all__ = ["eventually", "eventually_async"]
