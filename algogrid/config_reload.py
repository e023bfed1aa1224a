"""Hot reload of non-secret settings (O-02): on SIGHUP (settings.yaml + env read again) or PATCH /config.

A reload validates the whole new settings object first (a bad value changes nothing), then sorts each changed
key: the *hot* keys (the RiskActor's limits, R-02/R-03) are applied to the running actor by message
(``UpdateRiskLimits``) and kept for its next restart; every other change — secrets, symbols, storage URLs,
ports, anything structural — is reported as *restart required* and not applied. Each reload is audited
(``config_reloaded``) with the applied keys (old → new) and the keys that need a restart; secret values are
never written, only their key.

The gateway's ``PATCH /config`` (auth room) calls :meth:`ConfigReloader.apply_changes` with the caller's
identity; SIGHUP calls :meth:`ConfigReloader.reload_file`.
"""

from __future__ import annotations

import signal
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import structlog
import trio
from pydantic import SecretStr, ValidationError

from actors import RISK
from actors.risk import UpdateRiskLimits, risk_limits_from
from algogrid.risk_wiring import LiveRiskLimits
from algogrid.settings import ConfigError, Settings, load_settings
from strategy_core.config import RiskLimits

__all__ = ["HOT_KEYS", "ConfigReloader", "LiveRiskLimits", "ReloadResult", "risk_asker"]

log = structlog.get_logger(__name__)

# O-02: what a running system takes without a restart. Everything else needs one.
HOT_KEYS: frozenset[str] = frozenset({
    "risk.max_concurrent_positions",
    "risk.max_total_risk_usd",
    "risk.max_positions_per_base",
    "risk.churn_block_sec",
    "risk.clear_churn_on_close",
})


class Audit(Protocol):
    """Where a reload is recorded (``storage.AuditRepository``)."""

    async def append(
        self, action: str, details: Mapping[str, object] | None = None, *, actor: str = "system",
        target_type: str | None = None, target_id: str | None = None,
    ) -> None: ...


AskRisk = Callable[[UpdateRiskLimits], Awaitable[RiskLimits]]


@dataclass(frozen=True, slots=True)
class ReloadResult:
    """What one reload did: keys applied now, keys that need a restart (both sorted)."""

    applied: tuple[str, ...]
    restart_required: tuple[str, ...]

    def as_json(self) -> dict[str, object]:
        """Return the result as the route and the audit row show it."""
        return {"applied": list(self.applied), "restart_required": list(self.restart_required)}


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}{key}."))
        return flat
    return {prefix.rstrip("."): value}


def _shown(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return "***"
    return value if isinstance(value, int | float | bool | str) or value is None else str(value)


class ConfigReloader:
    """Applies validated settings changes to a running engine and audits them."""

    def __init__(self, current: Settings, path: Path | None, audit: Audit, ask_risk: AskRisk,
                 live_limits: LiveRiskLimits, *, overrides: Mapping[str, Any] | None = None) -> None:
        self.current = current
        self._path = path
        self._overrides = dict(overrides or {})  # the CLI flags still win on reload
        self._audit = audit
        self._ask_risk = ask_risk
        self._live = live_limits

    async def apply(self, new: Settings, *, actor: str, source: str) -> ReloadResult:
        """Apply the hot keys of ``new``, report the others, audit, and return the result."""
        old_flat = _flatten(self.current.model_dump())
        new_flat = _flatten(new.model_dump())
        changed = sorted(k for k in old_flat.keys() | new_flat.keys() if old_flat.get(k) != new_flat.get(k))
        applied = tuple(k for k in changed if k in HOT_KEYS)
        restart = tuple(k for k in changed if k not in HOT_KEYS)
        if applied:
            limits = risk_limits_from(new.risk)
            self._live.value = limits
            await self._ask_risk(UpdateRiskLimits(limits=limits))
            # only the hot keys move: the rest stays as running until a restart
            fields = [k.split(".", 1)[1] for k in applied]
            risk = self.current.risk.model_copy(update={name: getattr(new.risk, name) for name in fields})
            self.current = self.current.model_copy(update={"risk": risk})
        result = ReloadResult(applied, restart)
        details = {
            "source": source,
            **result.as_json(),
            "changes": {k: {"from": _shown(old_flat.get(k)), "to": _shown(new_flat.get(k))} for k in applied},
        }
        await self._audit.append("config_reloaded", details, actor=actor, target_type="config")
        log.info("config reloaded", source=source, applied=list(applied), restart_required=list(restart))
        return result

    def check_changes(self, changes: Mapping[str, Any]) -> Settings:
        """Return the running settings with ``changes`` (nested sections, as ``PATCH /config`` sends them).

        Raises:
            ConfigError: the changed settings are invalid as a whole, naming the key and the rule.
        """
        # Only the values given (file, environment, earlier changes): a full dump would also name the monitor
        # fields derived from the risk section, which the settings refuse to be given twice (one source).
        merged = _merge(self.current.model_dump(exclude_unset=True), changes)
        try:
            return Settings.model_validate(merged)
        except ValidationError as exc:
            error = exc.errors()[0]
            key = ".".join(str(p) for p in error["loc"])
            raise ConfigError(f"config error: {key}: {error['msg']}") from None

    async def apply_changes(self, changes: Mapping[str, Any], *, actor: str) -> ReloadResult:
        """Validate ``changes`` over the current settings (``check_changes``) and apply them.

        Raises:
            ConfigError: a changed value is invalid; nothing is applied.
        """
        return await self.apply(self.check_changes(changes), actor=actor, source="api")

    async def reload_file(self, *, actor: str = "operator", source: str = "sighup") -> ReloadResult | None:
        """Re-read the settings file and the environment and apply; a bad file changes nothing."""
        try:
            new = load_settings(self._path, **self._overrides)
        except ConfigError as exc:
            log.error("config reload refused", error=str(exc))  # noqa: TRY400 - the one-line reason is enough
            return None
        return await self.apply(new, actor=actor, source=source)

    async def serve_sighup(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Reload on every SIGHUP until cancelled."""
        with trio.open_signal_receiver(signal.SIGHUP) as signals:
            task_status.started()
            async for _ in signals:
                await self.reload_file()


def _merge(base: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def risk_asker(engine: Any, timeout_s: float) -> AskRisk:
    """Return the ask that hands new limits to the engine's RiskActor (``root/risk``)."""

    async def ask(message: UpdateRiskLimits) -> RiskLimits:
        reply: RiskLimits = await engine.ask(RISK, message, timeout_s=timeout_s)
        return reply

    return ask

