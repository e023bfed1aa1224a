"""With position ports and an ``ExecutionConfig`` each symbol tree starts its PositionActor first (E-02)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from actors import PipelineConfig, RefResolver, SymbolDeps, TradingInputs
from actors.paths import POSITION, position_path
from actors.position import ExecutionConfig, PositionDeps
from actors.symbols import symbol_spec


class _Unused:
    """A port the spec only stores (nothing starts here)."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"expected no call, got {name}")


def test_the_position_child_comes_first_only_when_wired() -> None:
    unused: Any = _Unused()
    positions = PositionDeps(work=unused, store=unused, exchange=unused, risk=unused)
    base = SymbolDeps(resolve=RefResolver(), work=unused, store=unused, snapshots=unused, publisher=unused)
    inputs = TradingInputs(risk_per_trade_usd=Decimal(25))

    wired = symbol_spec(
        "BTCUSDT",
        PipelineConfig(),
        inputs,
        replace(base, positions=positions),
        ExecutionConfig(),
    )
    plain = symbol_spec("BTCUSDT", PipelineConfig(), inputs, base, ExecutionConfig())

    assert [c.name for c in wired.children] == [POSITION, "signal", "indicator", "feed"]
    assert [c.name for c in plain.children] == ["signal", "indicator", "feed"]
    assert position_path("BTCUSDT") == "root/symbols/BTCUSDT/position"
