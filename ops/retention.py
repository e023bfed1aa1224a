"""The retention archiver (D-05) and the partition maintainer (T-03), one pass at a time.

A pass, for a given ``now`` (the scheduler's clock, so tests run it under a simulated one):

1. partitions ahead: every time-series table gets its monthly partitions up to
   ``partitions_months_ahead`` months after ``now`` (rows already in the DEFAULT partition move in);
2. each family (klines 30 d, L50 log 30 d, signals 90 d, positions 180 d): day by day, oldest first, the
   rows older than ``now − window`` are written to ``<archive_dir>/<family>/<day>.<digest>.jsonl.gz`` and
   deleted in the same transaction (``storage.RetentionRepository.archive_day``); the file name carries a
   digest of its content, so a day archived again after a crash overwrites an identical file and a day
   that gains late rows gets a second file, never a lost one;
3. partitions behind: a monthly partition wholly older than its table's window and empty is dropped
   (TimescaleDB: ``drop_chunks``).

A pass that meets nothing old does nothing; an interrupted pass resumes where it stopped.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import structlog
import trio

from ops.config import RetentionConfig
from ops.errors import ArchiveError
from ops.metrics import OpsMetrics
from storage.retention import FAMILIES, ArchivedDay, RetentionRepository

__all__ = ["Archiver", "PassReport", "read_archive"]

log = structlog.get_logger(__name__)

# The partitioned tables and the family whose window bounds them.
_PARTITION_WINDOW = {
    "klines_5m": "klines_5m", "orderbook_l50_log": "orderbook_l50_log", "slippage_log": "positions",
    "public_trades": "public_trades",
    "ticker_log": "ticker_log",
    "funding_settlements": "funding_settlements",
}


@dataclass
class PassReport:
    """What one pass did."""

    rows_archived: dict[str, int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    partitions_created: dict[str, int] = field(default_factory=dict)
    partitions_dropped: list[str] = field(default_factory=list)

    @property
    def did_nothing(self) -> bool:
        """Return True when the pass archived, created and dropped nothing."""
        return not (self.files or any(self.partitions_created.values()) or self.partitions_dropped)


def _json_default(value: object) -> str:
    if isinstance(value, Decimal | dt.datetime | dt.date):
        return str(value)
    raise TypeError(f"expected a JSON value, got {type(value).__name__}")


def _lines(archived: ArchivedDay) -> bytes:
    out = [
        json.dumps({"table": table, "row": row}, default=_json_default, sort_keys=True)
        for table, rows in archived.rows.items()
        for row in rows
    ]
    return ("\n".join(out) + "\n").encode()


def read_archive(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(table, row)`` of every line of an archive file."""
    with gzip.open(path, "rt") as file:
        for line in file:
            if line.strip():
                item = json.loads(line)
                yield item["table"], item["row"]


class Archiver:
    """Runs passes over ``repository`` with ``config``; counts on ``metrics``."""

    def __init__(self, repository: RetentionRepository, config: RetentionConfig, metrics: OpsMetrics) -> None:
        self._repo = repository
        self._config = config
        self._metrics = metrics

    async def run_pass(self, now: dt.datetime) -> PassReport:
        """Run one pass for ``now`` and return what it did."""
        report = PassReport()
        timescale = await self._repo.timescale()
        if not timescale:
            created = await self._repo.ensure_partitions(self._config.partitions_months_ahead, now)
            report.partitions_created = created
            for table, n in created.items():
                if n:
                    self._metrics.partitions_created.labels(table=table).inc(n)
        windows = self._config.days_of()
        for name, days in windows.items():
            await self._archive_family(name, now - dt.timedelta(days=days), report)
        for table, family in _PARTITION_WINDOW.items():
            cutoff = now - dt.timedelta(days=windows[family])
            if timescale:
                await self._repo.drop_chunks(table, cutoff)
                continue
            for partition in await self._repo.partitions():
                if partition.table == table and partition.upper <= cutoff and \
                        await self._repo.drop_partition_if_empty(partition):
                    report.partitions_dropped.append(partition.name)
                    self._metrics.partitions_dropped.labels(table=table).inc()
        self._metrics.last_success.set(now.timestamp())
        self._metrics.runs.labels(outcome="ok").inc()
        log.info("retention pass done", rows=report.rows_archived, files=len(report.files),
                 partitions_created=report.partitions_created, partitions_dropped=report.partitions_dropped)
        return report

    async def _archive_family(self, name: str, cutoff: dt.datetime, report: PassReport) -> None:
        family = FAMILIES[name]
        total = await self._repo.pending_days(family, cutoff)
        done = 0
        self._metrics.pending_days.labels(family=name).set(total)
        while (day := await self._repo.oldest_day(family, cutoff)) is not None:

            async def write(archived: ArchivedDay) -> None:
                report.files.append(await trio.to_thread.run_sync(self._write, archived))

            archived = await self._repo.archive_day(family, day, cutoff, write)
            done += 1
            for table, rows in archived.rows.items():
                if rows:
                    report.rows_archived[table] = report.rows_archived.get(table, 0) + len(rows)
                    self._metrics.rows_archived.labels(table=table).inc(len(rows))
            self._metrics.days_archived.labels(family=name).inc()
            self._metrics.pending_days.labels(family=name).set(max(0, total - done))
            log.info("retention day archived", family=name, day=day.isoformat(), rows=archived.count,
                     progress=f"{done}/{total}")

    def _write(self, archived: ArchivedDay) -> Path:
        data = _lines(archived)
        digest = hashlib.sha256(data).hexdigest()[:12]
        directory = self._config.archive_dir / archived.family
        path = directory / f"{archived.day.isoformat()}.{digest}.jsonl.gz"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            staging = path.with_suffix(".tmp")
            with staging.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as file:
                file.write(data)
            staging.replace(path)
        except OSError as exc:
            raise ArchiveError(f"could not write the archive {path}: {exc}") from exc
        return path
