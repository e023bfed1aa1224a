"""Exceptions of the reconciler room.

The tree::

    ReconcilerError
    └── PassAbandonedError   a pass did not finish within ``pass_timeout_s`` (its lease is released)

Storage and exchange errors reach the reconciler as the replies' ``error`` strings (the work queue's
boundary); the fenced write's refusal is ``storage.FencedWriteRejectedError``.
"""

from __future__ import annotations

__all__ = ["PassAbandonedError", "ReconcilerError"]


class ReconcilerError(Exception):
    """Base class of the reconciler room's errors."""


class PassAbandonedError(ReconcilerError):
    """A pass took longer than ``pass_timeout_s``."""
