"""``PATCH /config`` on a running engine (O-02): ``ConfigReloader.apply_changes`` validates the changes over
the settings as they were given, so the monitor fields derived from the risk section (one source) are not
restated and refused; a hot key reaches the RiskActor at once, a cold one waits for the next start."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from actors.risk import UpdateRiskLimits, risk_limits_from
from algogrid.config_reload import ConfigReloader, LiveRiskLimits
from algogrid.settings import ConfigError, load_settings
from strategy_core.config import RiskLimits


class Rows:
    def __init__(self) -> None:
        self.rows: list[tuple[str, Mapping[str, object] | None]] = []

    async def append(
        self, action: str, details: Mapping[str, object] | None = None, *, actor: str = "system",
        target_type: str | None = None, target_id: str | None = None,
    ) -> None:  # fmt: skip
        self.rows.append((action, details))


def reloader(asked: list[UpdateRiskLimits], audit: Rows) -> ConfigReloader:
    settings = load_settings(None)

    async def ask(message: UpdateRiskLimits) -> RiskLimits:
        asked.append(message)
        return message.limits

    return ConfigReloader(settings, None, audit, ask, LiveRiskLimits(risk_limits_from(settings.risk)))


async def test_a_hot_key_patched_over_loaded_settings_reaches_the_risk_actor_at_once() -> None:
    asked: list[UpdateRiskLimits] = []
    audit = Rows()
    live = reloader(asked, audit)
    before = live.current.risk.max_concurrent_positions

    result = await live.apply_changes({"risk": {"max_concurrent_positions": before + 2}}, actor="admin")

    assert result.applied == ("risk.max_concurrent_positions",)
    assert [m.limits.max_concurrent_positions for m in asked] == [before + 2]
    assert live.current.risk.max_concurrent_positions == before + 2
    assert [action for action, _ in audit.rows] == ["config_reloaded"]


async def test_a_cold_key_waits_for_a_restart_and_a_bad_value_changes_nothing() -> None:
    asked: list[UpdateRiskLimits] = []
    live = reloader(asked, Rows())

    result = await live.apply_changes({"risk": {"risk_per_trade_usd": "30"}}, actor="admin")

    assert "risk.risk_per_trade_usd" in result.restart_required
    assert result.applied == ()
    assert asked == []
    with pytest.raises(ConfigError, match=r"risk\.max_concurrent_positions"):
        await live.apply_changes({"risk": {"max_concurrent_positions": -1}}, actor="admin")
