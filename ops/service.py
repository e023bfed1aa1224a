"""The scheduled maintenance service: a retention pass after start-up, then every ``interval_s`` (D-05).

A trio service owned by ``algogrid run``'s storage scope (STYLE §4: started with ``nursery.start``). A failed
pass is logged and counted (``algogrid_retention_runs_total{outcome="failed"}``) and retried at the next
interval; it never stops the process.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import structlog
import trio

from ops.config import RetentionConfig
from ops.metrics import OpsMetrics
from ops.retention import Archiver

__all__ = ["MaintenanceService"]

log = structlog.get_logger(__name__)


class MaintenanceService:
    """Runs the archiver on a schedule; ``now`` is the wall clock unless a test gives another."""

    def __init__(
        self,
        archiver: Archiver,
        config: RetentionConfig,
        metrics: OpsMetrics,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._archiver = archiver
        self._config = config
        self._metrics = metrics
        self._now = now

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run passes until cancelled."""
        task_status.started()
        if not self._config.enabled:
            log.info("retention disabled")
            return
        await trio.sleep(self._config.first_run_delay_s)
        while True:
            try:
                await self._archiver.run_pass(self._now())
            except Exception:  # boundary: one failed pass must not end the service; counted and logged
                self._metrics.runs.labels(outcome="failed").inc()
                log.exception("retention pass failed")
            await trio.sleep(self._config.interval_s)
