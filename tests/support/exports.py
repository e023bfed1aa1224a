"""Front-door checks shared by the export tests (STYLE §1, after trio's ``_tests/test_exports.py``)."""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType

__all__ = ["assert_front_door"]


def assert_front_door(module: ModuleType, expected: Iterable[str]) -> None:
    """Assert that ``module.__all__`` is exactly ``expected``, once each, and that every name resolves."""
    exported = list(module.__all__)
    assert len(exported) == len(set(exported)), f"{module.__name__}.__all__ lists a name twice"
    assert sorted(exported) == sorted(expected)
    missing = [name for name in exported if not hasattr(module, name)]
    assert missing == [], f"{module.__name__} does not define {missing}"
