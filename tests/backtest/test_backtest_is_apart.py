"""The live service never imports the backtest entry point (S-06, Q-07): no live module names it."""

from __future__ import annotations

import ast
from pathlib import Path

import backtest

ROOT = Path(__file__).resolve().parents[2]
LIVE_ROOMS = ("algogrid", "actors", "gateway", "storage", "exchange", "supervision", "strategy_core")


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_live_module_imports_backtest() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for room in LIVE_ROOMS
        for path in (ROOT / room).rglob("*.py")
        if any(name == "backtest" or name.startswith("backtest.") for name in _imported(path))
    ]
    assert offenders == []
    assert "run_backtest" in backtest.__all__
