"""A short, bounded label for a SQL statement: the ``query`` of G-06 ``db_query_duration_ms``.

The label is the statement's verb and its first table (``select signals``, ``insert orders``,
``with positions``): the statements are the repositories' fixed texts, so the label set stays small, and no
argument value ever reaches a label (arguments travel as ``$n`` parameters).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Protocol

__all__ = ["QueryObserver", "query_label"]

_VERB = re.compile(r"^\s*(?:--[^\n]*\n\s*)*([A-Za-z]+)")
_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE|JOIN|TABLE)\s+([A-Za-z_][A-Za-z0-9_.]*)", re.IGNORECASE)


class QueryObserver(Protocol):
    """Receives each statement's label and duration (ms); must not raise or block."""

    def __call__(self, label: str, elapsed_ms: float) -> None:
        """Observe one statement."""
        ...


@lru_cache(maxsize=2048)
def query_label(query: str) -> str:
    """Return ``"<verb> <first table>"`` for ``query`` (lower case), or just the verb when it names none."""
    verb_match = _VERB.match(query)
    verb = verb_match.group(1).lower() if verb_match else "other"
    if verb == "update":
        table_match = re.match(r"^\s*UPDATE\s+([A-Za-z_][A-Za-z0-9_.]*)", query, re.IGNORECASE)
    else:
        table_match = _TABLE.search(query)
    return f"{verb} {table_match.group(1).lower()}" if table_match else verb
