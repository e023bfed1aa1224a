# ruff: noqa: E501  -- the SQL fixtures read better one statement per entry
"""The whole T-02 schema: every table takes a good row, bad rows hit the named constraint, migrations reverse."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal

import psycopg2
import psycopg2.errors
import pytest

from storage import current_revision, downgrade, head_revision, upgrade

USER = str(uuid.uuid4())
SIGNAL = str(uuid.uuid4())
POSITION = str(uuid.uuid4())
ORDER = str(uuid.uuid4())
RUN = str(uuid.uuid4())
BACKTEST = str(uuid.uuid4())

# One good row per table, in FK order; each returns something to read back.
GOOD_ROWS: list[tuple[str, str, tuple[object, ...]]] = [
    ("users", "INSERT INTO users (id, email, role) VALUES (%s, 'Admin@Example.com', 'admin') RETURNING role",
     (USER,)),
    ("user_tokens", "INSERT INTO user_tokens (user_id, purpose, token_hash, expires_at) "
     "VALUES (%s, 'activation', 'h1', now() + interval '48 hours') RETURNING purpose", (USER,)),
    ("refresh_token_families", "INSERT INTO refresh_token_families (user_id, current_jti, expires_at) "
     "VALUES (%s, 'jti-1', now() + interval '7 days') RETURNING current_jti", (USER,)),
    ("api_keys", "INSERT INTO api_keys (user_id, label, api_key, secret_ciphertext, cipher) "
     "VALUES (%s, 'main', 'KEY', 'vault:v1:abc', 'vault-transit') RETURNING label", (USER,)),
    ("audit_trail", "INSERT INTO audit_trail (actor_user_id, actor_label, action, details) "
     "VALUES (%s, 'admin', 'login', '{\"ip\": \"127.0.0.1\"}') RETURNING action", (USER,)),
    ("signals", "INSERT INTO signals (id, symbol, side, entry, tp1, tp2, tp3, sl, qty, risk_usd, risk_r, p_win, "
     "strategy, strategy_version, bar_start, created_at) VALUES (%s, 'BTCUSDT', 'short', 100, 99, 98, 97, "
     "101, 25, 25, 1, 0.6, 'avi5', '1', now(), now()) RETURNING side", (SIGNAL,)),
    ("positions", "INSERT INTO positions (id, signal_id, user_id, symbol, side, requested_size_base, risk_usd) "
     "VALUES (%s, %s, %s, 'BTCUSDT', 'short', 25, 25) RETURNING status", (POSITION, SIGNAL, USER)),
    ("orders", "INSERT INTO orders (id, position_id, signal_id, user_id, client_order_id, symbol, side, "
     "order_type, time_in_force, purpose, price, qty) VALUES (%s, %s, %s, %s, 'ag-1', 'BTCUSDT', 'Sell', "
     "'Limit', 'IOC', 'entry', 100, 25) RETURNING status", (ORDER, POSITION, SIGNAL, USER)),
    ("executions", "INSERT INTO executions (exec_id, order_id, position_id, symbol, side, price, qty, "
     "exec_time) VALUES ('ex-1', %s, %s, 'BTCUSDT', 'Sell', 100.5, 10, now()) RETURNING exec_id",
     (ORDER, POSITION)),
    ("order_rejections", "INSERT INTO order_rejections (order_id, symbol, ret_code, ret_msg, error_kind) "
     "VALUES (%s, 'BTCUSDT', 110007, 'insufficient balance', 'insufficient_balance') RETURNING ret_code",
     (ORDER,)),
    ("kill_switch_state", "UPDATE kill_switch_state SET trading_state = 'HALTED', engaged = true, "
     "reason = 'manual', changed_by = %s RETURNING trading_state", (USER,)),
    ("risk_denials", "INSERT INTO risk_denials (signal_id, user_id, symbol, side, reason_code, reason) "
     "VALUES (%s, %s, 'BTCUSDT', 'short', 'max_total_risk', 'over 250 USD') RETURNING reason_code",
     (SIGNAL, USER)),
    ("reconciliation_log", "INSERT INTO reconciliation_log (run_id, symbol, severity, kind, position_id) "
     "VALUES (gen_random_uuid(), 'BTCUSDT', 'critical', 'missing_on_exchange', %s) RETURNING severity",
     (POSITION,)),
    ("reconciliation_passes", "INSERT INTO reconciliation_passes (run_id, fence, holder, started_at, "
     "duration_ms, symbols, clean) VALUES (gen_random_uuid(), 1, 'engine-a', now(), 12.5, 15, true) "
     "RETURNING holder", ()),
    ("reconciliation_fence", "UPDATE reconciliation_fence SET fence = 7 RETURNING fence", ()),
    ("webhook_deliveries", "INSERT INTO webhook_deliveries (event, url, payload, position_id) VALUES "
     "('be', 'https://hooks.example.com/x', '{}', %s) RETURNING status", (POSITION,)),
    ("outbox", "INSERT INTO outbox (topic, payload) VALUES ('signal', '{}') RETURNING topic", ()),
    ("klines_5m", "INSERT INTO klines_5m (symbol, open_time, open, high, low, close, volume) VALUES "
     "('BTCUSDT', now(), 100, 101, 99, 100.5, 3) RETURNING close", ()),
    ("orderbook_l50_log", "INSERT INTO orderbook_l50_log (symbol, captured_at, update_id, best_bid, best_ask, "
     "bids, asks) VALUES ('BTCUSDT', now(), 1, 100, 100.1, '[[\"100\",\"1\"]]', '[[\"100.1\",\"2\"]]') "
     "RETURNING update_id", ()),
    ("slippage_log", "INSERT INTO slippage_log (symbol, side, leg, position_id, order_id, requested_price, "
     "avg_fill_price, qty, slippage_bps) VALUES ('BTCUSDT', 'short', 'entry', %s, %s, 100, 100.5, 10, -50) "
     "RETURNING slippage_bps", (POSITION, ORDER)),
    ("calibration_runs", "INSERT INTO calibration_runs (id, start_date, end_date, total_days, triggered_by) "
     "VALUES (%s, '2026-01-01', '2026-07-01', 30, %s) RETURNING status", (RUN, USER)),
    ("theta_maps", "INSERT INTO theta_maps (calibration_run_id, symbol, hour, theta) "
     "VALUES (%s, NULL, 13, 0.35) RETURNING theta", (RUN,)),
    ("runtime_config", "INSERT INTO runtime_config (section, value, updated_by) "
     "VALUES ('risk', '{\"risk_per_trade_usd\": \"30\"}', %s) RETURNING section", (USER,)),
    ("kline_gaps", "INSERT INTO kline_gaps (symbol, open_time, status) VALUES ('BTCUSDT', now(), 'missing') "
     "RETURNING status", ()),
    ("public_trades", "INSERT INTO public_trades (symbol, trade_id, traded_at, side, price, size) VALUES "
     "('BTCUSDT', 't-1', now(), 'Buy', 100, 0.5) RETURNING trade_id", ()),
    ("ticker_log", "INSERT INTO ticker_log (symbol, ts, mark_price, funding_rate) VALUES "
     "('BTCUSDT', now(), 100, 0.0001) RETURNING mark_price", ()),
    ("funding_settlements", "INSERT INTO funding_settlements (symbol, funding_time, funding_rate) VALUES "
     "('BTCUSDT', now(), 0.0001) RETURNING source", ()),
    ("calibration_outcomes", "INSERT INTO calibration_outcomes (calibration_run_id, symbol, hour, side, wins, "
     "losses) VALUES (%s, 'BTCUSDT', 13, 'long', 7, 3) RETURNING wins", (RUN,)),
    ("backtest_runs", "INSERT INTO backtest_runs (id, created_by, source, symbols, report) VALUES "
     "(%s, 'cli:test', 'csv', '{BTCUSDT}', '{}') RETURNING source", (BACKTEST,)),
    ("backtest_trades", "INSERT INTO backtest_trades (backtest_run_id, signal_id, symbol, side, opened_at, "
     "closed_at, entry, entry_fill, qty, exit_avg, exit_reason, tp1_first, fees_usd, funding_usd, pnl_usd, "
     "pnl_r, modelled_slippage_bps, p_win) VALUES (%s, gen_random_uuid(), 'BTCUSDT', 'long', now(), now(), "
     "100, 100.05, 1, 101, 'tp3', true, 0.1, 0, 0.9, 0.036, 5, 0.5) RETURNING exit_reason", (BACKTEST,)),
    ("forward_phases", "INSERT INTO forward_phases (mode, started_at, min_days, thresholds) VALUES "
     "('paper', now(), 30, '{}') RETURNING status", ()),
]

# (constraint expected, statement) — each runs in its own rolled-back savepoint.
BAD_ROWS: list[tuple[str, str]] = [
    ("users_role_check", "INSERT INTO users (email, role) VALUES ('x@y.z', 'root')"),
    ("users_email_key", "INSERT INTO users (email, role) VALUES ('admin@example.COM', 'viewer')"),
    ("user_tokens_user_id_fkey", "INSERT INTO user_tokens (user_id, purpose, token_hash, expires_at) "
     "VALUES (gen_random_uuid(), 'activation', 'h2', now() + interval '1 hour')"),
    ("api_keys_user_label_key", f"INSERT INTO api_keys (user_id, label, api_key, secret_ciphertext, cipher) "
     f"VALUES ('{USER}', 'main', 'K2', 'c', 'local')"),
    ("signals_levels_check", "INSERT INTO signals (id, symbol, side, entry, tp1, tp2, tp3, sl, qty, risk_usd, "
     "risk_r, p_win, strategy, strategy_version, bar_start, created_at) VALUES (gen_random_uuid(), 'ETHUSDT', "
     "'long', 100, 101, 102, 103, 100.5, 1, 25, 1, 0.5, 'avi5', '1', now(), now())"),
    ("signals_p_win_check", "INSERT INTO signals (id, symbol, side, entry, tp1, tp2, tp3, sl, qty, risk_usd, "
     "risk_r, p_win, strategy, strategy_version, bar_start, created_at) VALUES (gen_random_uuid(), 'ETHUSDT', "
     "'long', 100, 101, 102, 103, 99, 1, 25, 1, 1.5, 'avi5', '1', now(), now())"),
    ("positions_status_check", f"UPDATE positions SET status = 'lost' WHERE id = '{POSITION}'"),
    ("positions_closed_check", f"UPDATE positions SET status = 'closed' WHERE id = '{POSITION}'"),
    ("positions_signal_id_fkey", "INSERT INTO positions (signal_id, symbol, side, requested_size_base, "
     "risk_usd) VALUES (gen_random_uuid(), 'BTCUSDT', 'long', 1, 25)"),
    ("orders_qty_check", f"UPDATE orders SET filled_qty = 26 WHERE id = '{ORDER}'"),
    ("orders_client_order_id_key", "INSERT INTO orders (client_order_id, symbol, side, order_type, "
     "time_in_force, purpose, qty) VALUES ('ag-1', 'BTCUSDT', 'Buy', 'Market', 'IOC', 'exit', 1)"),
    ("executions_exec_id_key", "INSERT INTO executions (exec_id, symbol, side, price, qty, exec_time) "
     "VALUES ('ex-1', 'BTCUSDT', 'Sell', 100, 1, now())"),
    ("order_rejections_ret_code_check", "INSERT INTO order_rejections (symbol, ret_code, ret_msg, error_kind) "
     "VALUES ('BTCUSDT', 0, 'ok', 'none')"),
    ("kill_switch_state_trading_state_check", "UPDATE kill_switch_state SET trading_state = 'PAUSED'"),
    ("kill_switch_state_singleton_check", "INSERT INTO kill_switch_state (id) VALUES (2)"),
    ("reconciliation_log_severity_check", "INSERT INTO reconciliation_log (run_id, severity, kind) "
     "VALUES (gen_random_uuid(), 'fatal', 'x')"),
    ("reconciliation_fence_singleton_check", "INSERT INTO reconciliation_fence (id) VALUES (2)"),
    ("reconciliation_passes_counts_check", "INSERT INTO reconciliation_passes (run_id, fence, holder, "
     "started_at, duration_ms, symbols, critical, clean) VALUES (gen_random_uuid(), 1, 'x', now(), 1, 1, -1, "
     "false)"),
    ("webhook_deliveries_url_check", "INSERT INTO webhook_deliveries (event, url, payload) "
     "VALUES ('be', 'ftp://x', '{}')"),
    ("klines_5m_ohlc_check", "INSERT INTO klines_5m (symbol, open_time, open, high, low, close, volume) "
     "VALUES ('ETHUSDT', now(), 100, 99, 101, 100, 1)"),
    ("klines_5m_volume_check", "INSERT INTO klines_5m (symbol, open_time, open, high, low, close, volume) "
     "VALUES ('ETHUSDT', now(), 100, 101, 99, 100, -1)"),
    ("orderbook_l50_log_spread_check", "INSERT INTO orderbook_l50_log (symbol, captured_at, update_id, "
     "best_bid, best_ask, bids, asks) VALUES ('BTCUSDT', now(), 2, 101, 100, '[]', '[]')"),
    ("slippage_log_leg_check", "INSERT INTO slippage_log (symbol, side, leg, requested_price, avg_fill_price, "
     "qty, slippage_bps) VALUES ('BTCUSDT', 'long', 'middle', 1, 1, 1, 0)"),
    ("calibration_runs_dates_check", "INSERT INTO calibration_runs (start_date, end_date, total_days) "
     "VALUES ('2026-02-01', '2026-01-01', 30)"),
    ("forward_phases_one_running", "INSERT INTO forward_phases (mode, started_at, min_days, thresholds) "
     "VALUES ('paper', now(), 30, '{}')"),
    ("calibration_outcomes_side_check", f"INSERT INTO calibration_outcomes (calibration_run_id, symbol, hour, "
     f"side, wins, losses) VALUES ('{RUN}', 'BTCUSDT', 1, 'up', 1, 1)"),
    ("theta_maps_theta_check", f"INSERT INTO theta_maps (calibration_run_id, hour, theta) "
     f"VALUES ('{RUN}', 1, 0.9)"),
    ("theta_maps_run_symbol_hour_key", f"INSERT INTO theta_maps (calibration_run_id, hour, theta) "
     f"VALUES ('{RUN}', 13, 0.2)"),
    ("klines_5m_source_check", "INSERT INTO klines_5m (symbol, open_time, open, high, low, close, volume, "
     "source) VALUES ('ETHUSDT', now(), 100, 101, 99, 100, 1, 'guess')"),
    ("kline_gaps_status_check", "INSERT INTO kline_gaps (symbol, open_time, status) "
     "VALUES ('ETHUSDT', now(), 'invented')"),
    ("public_trades_side_check", "INSERT INTO public_trades (symbol, trade_id, traded_at, side, price, size) "
     "VALUES ('BTCUSDT', 't-2', now(), 'Hold', 100, 1)"),
    ("funding_settlements_source_check", "INSERT INTO funding_settlements (symbol, funding_time, "
     "funding_rate, source) VALUES ('ETHUSDT', now(), 0.0001, 'guess')"),
]


RETURNED: dict[str, object] = {}
EXPECTED = {
    "users": "admin", "user_tokens": "activation", "refresh_token_families": "jti-1", "api_keys": "main",
    "audit_trail": "login", "signals": "short", "positions": "open", "orders": "new", "executions": "ex-1",
    "order_rejections": 110007, "kill_switch_state": "HALTED", "risk_denials": "max_total_risk",
    "reconciliation_log": "critical", "reconciliation_passes": "engine-a", "reconciliation_fence": 7,
    "webhook_deliveries": "pending", "outbox": "signal",
    "klines_5m": Decimal("100.5"), "orderbook_l50_log": 1, "slippage_log": Decimal("-50"),
    "calibration_runs": "running", "theta_maps": Decimal("0.35"), "runtime_config": "risk",
    "kline_gaps": "missing", "public_trades": "t-1", "ticker_log": Decimal(100), "funding_settlements": "ticker",
    "calibration_outcomes": 7,
    "backtest_runs": "csv", "backtest_trades": "tp3", "forward_phases": "running",
}


@pytest.fixture(scope="module")
def conn(migrated_db_url: str) -> Iterator[psycopg2.extensions.connection]:
    connection = psycopg2.connect(migrated_db_url)
    connection.autocommit = True
    with connection.cursor() as cur:
        for table, sql, params in GOOD_ROWS:
            cur.execute(sql, params)
            row = cur.fetchone()
            assert row is not None
            RETURNED[table] = row[0]
    yield connection
    connection.close()


def _tables(cur: psycopg2.extensions.cursor) -> set[str]:
    cur.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
    )
    return {row[0] for row in cur.fetchall()} - {"alembic_version"}


def test_every_table_has_a_good_row_test(conn: psycopg2.extensions.connection) -> None:
    with conn.cursor() as cur:
        assert _tables(cur) == {table for table, _sql, _params in GOOD_ROWS}


@pytest.mark.parametrize(("table", "sql", "params"), GOOD_ROWS, ids=[t for t, _s, _p in GOOD_ROWS])
def test_good_row_reads_back(conn: psycopg2.extensions.connection, table: str, sql: str,
                             params: tuple[object, ...]) -> None:
    with conn.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {table}")
        count = cur.fetchone()
        assert count is not None
        assert count[0] >= 1
    assert RETURNED[table] == EXPECTED[table]  # defaults and values read back as written


@pytest.mark.parametrize(("constraint", "sql"), BAD_ROWS, ids=[c for c, _s in BAD_ROWS])
def test_bad_row_violates_the_named_constraint(
    conn: psycopg2.extensions.connection, constraint: str, sql: str
) -> None:
    with conn.cursor() as cur, pytest.raises(psycopg2.errors.IntegrityError) as info:
        cur.execute(sql)
    assert info.value.diag.constraint_name == constraint


@pytest.mark.parametrize("sql", [
    "UPDATE audit_trail SET action = 'logout'",
    "DELETE FROM audit_trail",
    "TRUNCATE audit_trail",
])
def test_audit_trail_is_append_only(conn: psycopg2.extensions.connection, sql: str) -> None:
    with conn.cursor() as cur, pytest.raises(psycopg2.errors.InsufficientPrivilege, match="append-only"):
        cur.execute(sql)


def test_numeric_money_round_trips_exactly(conn: psycopg2.extensions.connection) -> None:
    with conn.cursor() as cur:
        cur.execute("SELECT price FROM executions WHERE exec_id = 'ex-1'")
        assert str(cur.fetchone()[0]) == "100.5"  # type: ignore[index]


def test_time_series_rows_land_in_monthly_partitions_created_ahead(conn: psycopg2.extensions.connection) -> None:
    with conn.cursor() as cur:
        cur.execute("SELECT algogrid_ensure_partitions('klines_5m', 3)")
        assert cur.fetchone() == (0,)  # idempotent: created by the migration already
        cur.execute("SELECT algogrid_ensure_partitions('klines_5m', 6)")
        assert cur.fetchone() == (3,)
        cur.execute("SELECT tableoid::regclass::text FROM klines_5m WHERE symbol = 'BTCUSDT'")
        [(partition,)] = cur.fetchall()
        assert partition.startswith("klines_5m_p")
        cur.execute("INSERT INTO klines_5m (symbol, open_time, open, high, low, close, volume) VALUES "
                    "('BTCUSDT', '2020-01-01T00:00Z', 1, 1, 1, 1, 0) RETURNING tableoid::regclass::text")
        assert cur.fetchone() == ("klines_5m_default",)


def test_upgrade_downgrade_to_base_and_upgrade_again(empty_db_url: str) -> None:
    assert upgrade(empty_db_url) == head_revision()
    assert downgrade(empty_db_url, "base") is None
    with psycopg2.connect(empty_db_url) as connection, connection.cursor() as cur:
        assert _tables(cur) == set()
        cur.execute("SELECT count(*) FROM pg_proc WHERE proname LIKE 'algogrid_%'")
        assert cur.fetchone() == (0,)
    connection.close()
    assert upgrade(empty_db_url) == head_revision()
    assert current_revision(empty_db_url) == head_revision()
