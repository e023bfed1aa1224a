"""Manual only (E-01): nothing places an order without a person's click.

Every product module is parsed with ``ast``. ``PlaceOrderFromSignal`` — the one command that makes the
PositionActor place an entry order — may be constructed in exactly one function, the engine view's
``open_position``; and that method is called from exactly one place, the handler of ``POST /positions/open``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_VIEWS = {"engine", "view", "engine_view"}
PRODUCT = ("actors", "algogrid", "gateway", "exchange", "supervision", "strategy_core", "backtest", "storage")


def _receiver(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def calls_in(source: str, name: str, *, attribute: bool) -> set[str]:
    """Return the names of the functions of ``source`` that call ``name``.

    ``attribute``: only calls on an engine view (``engine.name(...)``, ``ctx.engine.name(...)``, ``view.…``);
    else ``name(...)`` and ``module.name(...)``.
    """
    found: set[str] = set()
    for func in ast.walk(ast.parse(source)):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(func):
            if not isinstance(node, ast.Call):
                continue
            callee = node.func
            if isinstance(callee, ast.Attribute) and callee.attr == name:
                if not attribute or _receiver(callee.value) in _VIEWS:
                    found.add(func.name)
            elif isinstance(callee, ast.Name) and callee.id == name and not attribute:
                found.add(func.name)
    return found


def product_calls(name: str, *, attribute: bool) -> set[tuple[str, str]]:
    """Return ``(module path, function)`` of every call of ``name`` in the product code."""
    sites: set[tuple[str, str]] = set()
    for directory in PRODUCT:
        for path in sorted((ROOT / directory).rglob("*.py")):
            for func in calls_in(path.read_text(), name, attribute=attribute):
                sites.add((str(path.relative_to(ROOT)), func))
    return sites


def test_only_the_engine_views_open_position_constructs_place_order_from_signal() -> None:
    assert product_calls("PlaceOrderFromSignal", attribute=False) == {
        ("algogrid/engine_view.py", "open_position")
    }


def test_only_the_click_route_asks_the_engine_to_open_a_position() -> None:
    assert product_calls("open_position", attribute=True) == {
        ("gateway/routes_positions.py", "open_position")
    }


def test_the_scan_sees_a_construction_outside_the_click_path() -> None:
    source = (
        "def autoplace(ref, position):\n"
        "    ref.tell(position.PlaceOrderFromSignal(signal_id='x', requested_by='bot', reply=None))\n"
        "async def on_signal(engine, s):\n"
        "    await engine.open_position(s, 'bot', 1.0)\n"
        "def book(risk, p):\n"
        "    risk.open_position(p)\n"
    )
    assert calls_in(source, "PlaceOrderFromSignal", attribute=False) == {"autoplace"}
    assert calls_in(source, "open_position", attribute=True) == {"on_signal"}
