"""``StorageOps``: the gateway's admin port over storage and the settings (R-04, G-01, O-02).

* The kill switch is written exactly as ``algogrid kill-switch`` and the RiskActor write it: PostgreSQL (with
  its ``kill_switch.set`` audit row) then the Redis mirror; the running RiskActor notices within its
  ``state_poll_s``. The request's user is ``changed_by``; a ``kill_switch_requested`` row carries the
  request's IP, user agent and ids.
* ``GET /admin/kill_switch`` reads the trading state for the UI's banner, naming the user who changed it.
* ``GET /admin/status`` reads the trading state and computes WR / PF / net expectancy over the monitor's
  stats window and the MaxDD of its equity days with the same pure functions the MonitorActor uses, and the
  median actual and modelled slippage of the window's fills (E-05), exact in ``Decimal``.
* ``GET /admin/audit`` pages through ``audit_trail`` with the viewer's filters (U-11).
* ``PATCH /config`` validates each changed section with its own config model (the room's bounds and enums),
  stores it in ``runtime_config`` with a ``config_changed`` audit row, and ``apply_overrides`` folds the
  stored overrides into the settings at the next ``algogrid run``. With the running engine's
  ``ConfigReloader`` (O-02) the hot keys (risk limits) also apply at once, by message, audited; the answer
  names what applied now and what waits for a restart.
"""

from __future__ import annotations

import datetime as dt
import statistics
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Protocol

from pydantic import BaseModel

from algogrid.config_reload import ReloadResult
from algogrid.settings import ConfigError
from gateway import (
    AdminStatusView,
    AuditEntry,
    AuditPage,
    AuditQuery,
    ConfigRejectedError,
    ConfigView,
    KillSwitchBody,
    KillSwitchStateView,
    KillSwitchView,
)
from gateway.auth import RequestMeta
from storage import ChangeSource, Storage, TradingStateRecord
from strategy_core import TradingState
from strategy_core.performance import drawdown_pct_series, trade_stats

__all__ = ["EDITABLE_SECTIONS", "StorageOps", "apply_overrides"]

EDITABLE_SECTIONS = ("risk", "monitor", "execution", "strategy")
_STATES = {"halted": TradingState.HALTED, "reducing": TradingState.REDUCING}


def apply_overrides(settings: Any, overrides: dict[str, dict[str, Any]]) -> Any:
    """Return ``settings`` with the stored section overrides validated in (unknown sections ignored)."""
    update: dict[str, BaseModel] = {}
    for section, values in overrides.items():
        if section in EDITABLE_SECTIONS:
            current: BaseModel = getattr(settings, section)
            update[section] = type(current).model_validate({**current.model_dump(), **values})
    return settings.model_copy(update=update) if update else settings


def _median(values: tuple[Decimal, ...]) -> Decimal | None:
    """Return the exact median (the mean of the two middle values for an even count), None when empty."""
    return statistics.median(values) if values else None


class LiveSettings(Protocol):
    """The running engine's hot reload (``algogrid.config_reload.ConfigReloader``)."""

    def check_changes(self, changes: Mapping[str, Any]) -> object:
        """Raise ``ConfigError`` when ``changes`` make the running settings invalid as a whole."""
        ...

    async def apply_changes(self, changes: Mapping[str, Any], *, actor: str) -> ReloadResult:
        """Validate ``changes`` over the running settings and apply the hot keys now."""
        ...


class StorageOps:
    """``gateway.routes_admin.OpsPort`` over storage and the running settings."""

    def __init__(self, settings: Any, storage: Storage, live: LiveSettings | None = None) -> None:
        self._settings = settings
        self._storage = storage
        self._live = live

    async def set_kill_switch(self, body: KillSwitchBody, by: str, meta: RequestMeta) -> KillSwitchView:
        """Engage or release the kill switch (no-op when already in the asked state)."""
        store = self._storage.kill_switch
        now = dt.datetime.now(dt.UTC)
        current = await store.load_trading_state(now)
        state = _STATES[body.state] if body.enabled else TradingState.ACTIVE
        changed = (state, body.enabled) != (current.state, current.kill_switch)
        if changed:
            current = TradingStateRecord(
                state=state,
                kill_switch=body.enabled,
                reason=body.reason,
                changed_by=by,
                source=ChangeSource.OPERATOR,
                changed_at=now,
            )
            await store.save_trading_state(current)
        await self._storage.audit.append(
            "kill_switch_requested",
            {"enabled": body.enabled, "state": body.state, "changed": changed},
            target_type="kill_switch",
            target_id="1",
            context=meta,
        )
        return KillSwitchView(
            state=current.state.name,
            kill_switch=current.kill_switch,
            reason=current.reason,
            changed_by=current.changed_by,
            changed_at=current.changed_at,
            changed=changed,
        )

    async def kill_switch_state(self) -> KillSwitchStateView:
        """Return the trading state with who changed it (a user's e-mail when a user did), why and when."""
        current = await self._storage.kill_switch.load_trading_state(dt.datetime.now(dt.UTC))
        email = None
        if current.changed_by.startswith("user:"):
            try:
                user = await self._storage.users.get(uuid.UUID(current.changed_by.removeprefix("user:")))
            except ValueError:
                user = None
            email = user.email if user is not None else None
        return KillSwitchStateView(
            state=current.state.name,
            kill_switch=current.kill_switch,
            reason=current.reason,
            changed_by=current.changed_by,
            changed_by_email=email,
            source=current.source.value,
            changed_at=current.changed_at,
        )

    async def audit(self, query: AuditQuery) -> AuditPage:
        """Return one page of audit rows matching ``query``, newest first."""
        rows = await self._storage.audit.search(
            query.actor, query.action, query.since, query.until, query.limit + 1, query.offset
        )
        items = [
            AuditEntry(
                id=int(str(r["id"])),
                at=r["at"],
                actor=str(r["actor_label"]),
                actor_user_id=None if r["actor_user_id"] is None else str(r["actor_user_id"]),
                actor_email=None if r["actor_email"] is None else str(r["actor_email"]),
                action=str(r["action"]),
                target_type=None if r["target_type"] is None else str(r["target_type"]),
                target_id=None if r["target_id"] is None else str(r["target_id"]),
                details=dict(r["details"] or {}),  # type: ignore[call-overload]
                ip=None if r["ip"] is None else str(r["ip"]),
            )
            for r in rows[: query.limit]
        ]
        more = len(rows) > query.limit
        return AuditPage(
            items=items,
            limit=query.limit,
            offset=query.offset,
            next_offset=query.offset + query.limit if more else None,
        )

    async def status(self) -> AdminStatusView:
        """Return the trading state and the performance figures."""
        now = dt.datetime.now(dt.UTC)
        state = await self._storage.kill_switch.load_trading_state(now)
        monitor = self._settings.monitor
        history = await self._storage.monitor.load_performance(
            now,
            window_days=monitor.stats_window_days,
            equity_days=monitor.equity_days,
            starting_equity_usd=monitor.starting_equity_usd,
            r_unit_usd=Decimal(str(self._settings.risk.risk_per_trade_usd)),
        )
        stats = trade_stats([t.pnl_r for t in history.trades])
        drawdowns = drawdown_pct_series(history.daily_equity)
        slippage = await self._storage.monitor.load_slippage(now, window_days=monitor.stats_window_days)
        return AdminStatusView(
            state=state.state.name,
            kill_switch=state.kill_switch,
            kill_switch_reason=state.reason,
            trades=stats.trades,
            win_rate=stats.win_rate,
            profit_factor=stats.profit_factor,
            net_expectancy_r=stats.net_expectancy_r,
            max_drawdown_pct=max(drawdowns) if drawdowns else None,
            window_days=monitor.stats_window_days,
            slippage_fills=len(slippage.actual_bps),
            median_slippage_bps=_median(slippage.actual_bps),
            median_modelled_slippage_bps=_median(slippage.modelled_bps),
        )

    async def config(self) -> ConfigView:
        """Return the editable sections as they run now and the overrides waiting for the next start."""
        sections = {name: getattr(self._settings, name).model_dump(mode="json") for name in EDITABLE_SECTIONS}
        return ConfigView(
            mode=self._settings.mode,
            symbols=list(self._settings.symbols),
            sections=sections,
            overrides=await self._storage.runtime_config.load(),
            editable=list(EDITABLE_SECTIONS),
        )

    async def patch_config(self, changes: dict[str, dict[str, Any]], meta: RequestMeta) -> ConfigView:
        """Validate every changed section first (ValidationError names the key), then store and audit."""
        stored = await self._storage.runtime_config.load()
        merged: dict[str, dict[str, Any]] = {}
        for section, values in changes.items():
            current: BaseModel = getattr(self._settings, section)
            pending = {**stored.get(section, {}), **values}
            validated = type(current).model_validate({**current.model_dump(), **pending})
            merged[section] = {k: validated.model_dump(mode="json")[k] for k in pending}
        if self._live is not None:  # the settings as a whole (one source per value), before storing
            try:
                self._live.check_changes(changes)
            except ConfigError as exc:
                raise ConfigRejectedError(str(exc).removeprefix("config error: ")) from exc
        for section, value in merged.items():
            await self._storage.runtime_config.save(
                section, value, {k: value[k] for k in changes[section]}, by=meta.actor_user_id, context=meta
            )
        view = await self.config()
        if self._live is None:
            return view
        result = await self._live.apply_changes(changes, actor=str(meta.actor_user_id or "admin"))
        return view.model_copy(
            update={"applied_now": list(result.applied), "restart_required": list(result.restart_required)}
        )
