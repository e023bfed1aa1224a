"""Retention under a simulated clock (D-05, T-03): old rows are archived, then deleted; partitions lie ahead.

The pass runs with ``now`` five months past the wall clock, over rows written at simulated times: a closed
position of 200 days ago takes its order and fill with it, a signal still referenced by a kept position stays,
old candles and book rows go, and rows written after the migration's partitions ran out (in the DEFAULT
partition) move into the partitions created ahead. A second pass does nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import psycopg2
import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from ops import Archiver, OpsMetrics, RetentionConfig, read_archive
from storage import StorageConfig, open_storage
from storage.retention import RetentionRepository

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=150)


def ago(days: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


@pytest.fixture
def conn(migrated_db_url: str) -> Iterator[psycopg2.extensions.connection]:
    connection = psycopg2.connect(migrated_db_url)
    connection.autocommit = True
    yield connection
    connection.close()


def _signal(cur: psycopg2.extensions.cursor, created: dt.datetime) -> str:
    signal_id = str(uuid.uuid4())
    cur.execute(
        "INSERT INTO signals (id, symbol, side, entry, tp1, tp2, tp3, sl, qty, risk_usd, risk_r, p_win,"
        " strategy, strategy_version, bar_start, created_at) VALUES (%s, 'BTCUSDT', 'long', 100, 101, 102,"
        " 103, 99, 1, 25, 1, 0.6, 'avi5', '1', %s, %s)",
        (signal_id, created, created),
    )
    return signal_id


def _closed_position(cur: psycopg2.extensions.cursor, signal_id: str, closed: dt.datetime) -> str:
    position_id = str(uuid.uuid4())
    cur.execute(
        "INSERT INTO positions (id, signal_id, symbol, side, status, requested_size_base, risk_usd,"
        " opened_at, closed_at, close_reason, pnl_usd) VALUES (%s, %s, 'BTCUSDT', 'long', 'closed', 1, 25,"
        " %s, %s, 'manual', 3.5)",
        (position_id, signal_id, closed - dt.timedelta(hours=2), closed),
    )
    order_id = str(uuid.uuid4())
    cur.execute(
        "INSERT INTO orders (id, position_id, signal_id, client_order_id, symbol, side, order_type,"
        " time_in_force, purpose, price, qty, filled_qty, status) VALUES (%s, %s, %s, %s, 'BTCUSDT', 'Buy',"
        " 'Limit', 'IOC', 'entry', 100, 1, 1, 'filled')",
        (order_id, position_id, signal_id, f"c-{order_id[:8]}"),
    )
    cur.execute(
        "INSERT INTO executions (exec_id, order_id, position_id, symbol, side, price, qty, exec_time)"
        " VALUES (%s, %s, %s, 'BTCUSDT', 'Buy', 100, 1, %s)",
        (f"e-{order_id[:8]}", order_id, position_id, closed - dt.timedelta(hours=2)),
    )
    return position_id


def _kline(cur: psycopg2.extensions.cursor, at: dt.datetime) -> None:
    cur.execute(
        "INSERT INTO klines_5m (symbol, open_time, open, high, low, close, volume) VALUES"
        " ('BTCUSDT', %s, 100, 101, 99, 100, 5)",
        (at,),
    )


def _count(cur: psycopg2.extensions.cursor, sql: str) -> int:
    cur.execute(sql)
    return int(cur.fetchone()[0])


async def test_old_rows_are_archived_then_deleted_partitions_lie_ahead_and_a_second_pass_does_nothing(
    migrated_db_url: str, redis_url: str, conn: psycopg2.extensions.connection, tmp_path: Path
) -> None:
    with conn.cursor() as cur:
        old_position_signal = _signal(cur, ago(201))
        old_position = _closed_position(cur, old_position_signal, ago(200))
        kept_position_signal = _signal(cur, ago(101))
        kept_position = _closed_position(cur, kept_position_signal, ago(100))
        lone_old_signal = _signal(cur, ago(95))
        fresh_signal = _signal(cur, ago(5))
        for days in (45, 31, 10, 1):
            _kline(cur, ago(days))
        assert _count(cur, "SELECT count(*) FROM klines_5m_default") >= 2  # beyond the migration's partitions

    config = RetentionConfig(archive_dir=tmp_path / "archive", klines_days=30)  # the klines straddle 30 days
    metrics = OpsMetrics(CollectorRegistry())
    storage_config = StorageConfig(database_url=SecretStr(migrated_db_url), redis_url=SecretStr(redis_url),
                                   pool_min_size=1, pool_max_size=2)
    async with open_storage(storage_config) as storage:
        archiver = Archiver(RetentionRepository(storage.db), config, metrics)
        first = await archiver.run_pass(NOW)
        second = await archiver.run_pass(NOW)

    assert first.rows_archived == {"klines_5m": 2, "signals": 2, "positions": 1, "orders": 1, "executions": 1}
    assert any(name.startswith("klines_5m_p") for name in first.partitions_dropped)  # empty, archived
    assert second.did_nothing
    with conn.cursor() as cur:
        cur.execute("SELECT id::text FROM signals ORDER BY created_at")
        assert [r[0] for r in cur.fetchall()] == [kept_position_signal, fresh_signal]
        cur.execute("SELECT id::text FROM positions")
        assert [r[0] for r in cur.fetchall()] == [kept_position]
        assert _count(cur, "SELECT count(*) FROM klines_5m") == 2
        assert _count(cur, "SELECT count(*) FROM klines_5m_default") == 0  # moved into their partitions
        ahead = (NOW + dt.timedelta(days=31 * 3)).strftime("%Y%m")
        assert _count(cur, f"SELECT count(*) FROM pg_class WHERE relname = 'klines_5m_p{ahead}'") == 1
        old_month = (NOW - dt.timedelta(days=31 * 6)).strftime("%Y%m")
        assert _count(cur, f"SELECT count(*) FROM pg_class WHERE relname = 'klines_5m_p{old_month}'") == 0

    archived = [row for path in first.files for row in read_archive(path)]
    by_table: dict[str, list[dict[str, object]]] = {}
    for table, row in archived:
        by_table.setdefault(table, []).append(row)
    assert {r["id"] for r in by_table["signals"]} == {old_position_signal, lone_old_signal}
    assert [r["id"] for r in by_table["positions"]] == [old_position]
    assert Decimal(str(by_table["positions"][0]["pnl_usd"])) == Decimal("3.5")
    assert len(by_table["klines_5m"]) == 2
    assert metrics.rows_archived.labels(table="klines_5m")._value.get() == 2
