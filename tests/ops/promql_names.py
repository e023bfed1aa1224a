"""The metric names a PromQL expression reads (labels, functions and keywords removed)."""

from __future__ import annotations

import re

_KEYWORDS = frozenset(
    {"by", "on", "and", "or", "unless", "without", "ignoring", "group_left", "group_right", "le"}
)


def metric_names(expr: str) -> set[str]:
    """Return the metric names in ``expr`` (identifiers with an underscore that are not function calls)."""
    text = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    text = re.sub(r"\b(by|on|without|ignoring)\s*\([^)]*\)", "", text)  # grouping labels
    text = re.sub(r"\[[^\]]*\]", "", text)  # range selectors
    text = re.sub(r'"[^"]*"', "", text)
    names = {m.group(1) for m in re.finditer(r"\b([a-z][a-z0-9_]*)\b(?!\s*\()", text)}
    return {n for n in names if "_" in n and n not in _KEYWORDS}
