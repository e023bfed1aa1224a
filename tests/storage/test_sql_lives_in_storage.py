"""No SQL outside ``storage/`` (DESIGN §2): every ``.py`` of the other product rooms (``actors/``,
``algogrid/``, ``gateway/``, ``exchange/``, ``supervision/``, ``strategy_core/``, ``backtest/``) is parsed
with ``ast`` and none of its string constants (f-string parts included) may look like a SQL statement.
Alembic revisions (``migrations/``) are schema, not product code, and stay out of the scan.

A string looks like SQL when it *starts* like a statement (``SELECT … FROM``, ``INSERT INTO``,
``UPDATE t SET``, ``DELETE FROM``, ``WITH t AS (``, ``CREATE TABLE``, ``ALTER TABLE``, ``DROP TABLE``,
``TRUNCATE``; any case) or names one of the schema's tables right after ``FROM``, ``JOIN``, ``INTO`` or
``UPDATE`` anywhere in it. The table names come from the migrated schema, so a new table is covered at once.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("actors", "algogrid", "ops", "gateway", "exchange", "supervision", "strategy_core", "backtest")

_STATEMENT = re.compile(
    r"""^\s*(
        SELECT\b.*\bFROM\b | SELECT\s+[\d*] | INSERT\s+INTO\b | UPDATE\s+\w+\s+SET\b | DELETE\s+FROM\b
        | WITH\s+(RECURSIVE\s+)?\w+\s+AS\s*\(
        | CREATE\s+(OR\s+REPLACE\s+)?(UNIQUE\s+)?(TABLE|INDEX|VIEW|TRIGGER|FUNCTION|EXTENSION|SCHEMA|DATABASE
            |TYPE|SEQUENCE)\b
        | ALTER\s+(TABLE|INDEX|TYPE|DATABASE)\b
        | DROP\s+(TABLE|INDEX|VIEW|TRIGGER|FUNCTION|TYPE|DATABASE)\b | TRUNCATE\b
    )""",
    re.IGNORECASE | re.DOTALL | re.VERBOSE,
)


def looks_like_sql(text: str, tables: frozenset[str]) -> bool:
    """Return True when ``text`` starts like a SQL statement or names a table after FROM/JOIN/INTO/UPDATE."""
    if _STATEMENT.match(text):
        return True
    for match in re.finditer(r"\b(?:FROM|JOIN|INTO|UPDATE)\s+([A-Za-z_][A-Za-z0-9_]*)", text, re.IGNORECASE):
        if match.group(1).lower() in tables:
            return True
    return False


def sql_strings(source: str, tables: frozenset[str]) -> Iterator[tuple[int, str]]:
    """Yield ``(line, text)`` of every string constant of ``source`` that looks like SQL."""
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and looks_like_sql(node.value, tables)
        ):
            yield node.lineno, node.value


@pytest.fixture(scope="module")
def tables(migrated_db_url: str) -> frozenset[str]:
    connection = psycopg2.connect(migrated_db_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm')"
            )
            return frozenset(name for (name,) in cursor.fetchall())
    finally:
        connection.close()


def test_the_schema_tables_are_known(tables: frozenset[str]) -> None:
    assert {"klines_5m", "signals", "positions", "kill_switch_state", "audit_trail", "users"} <= tables


def test_no_sql_string_outside_storage(tables: frozenset[str]) -> None:
    assert all((ROOT / room).is_dir() for room in SCANNED)
    found = [
        f"{path.relative_to(ROOT)}:{line}: {text.strip()[:60]!r}"
        for room in SCANNED
        for path in sorted((ROOT / room).rglob("*.py"))
        for line, text in sql_strings(path.read_text(encoding="utf-8"), tables)
    ]
    assert found == [], "SQL belongs in a storage/ repository:\n" + "\n".join(found)


TABLES = frozenset({"klines_5m", "audit_trail", "user_tokens", "positions", "kill_switch_state"})


@pytest.mark.parametrize(
    "text",
    [
        "SELECT max(open_time) FROM klines_5m WHERE symbol = ANY($1::text[])",
        "\n  select 1",
        "INSERT INTO audit_trail (actor_label, action, details) VALUES ('system', $1, $2)",
        "UPDATE user_tokens SET used_at = now() WHERE user_id = $1",
        "delete from positions where id = $1",
        "WITH previous AS (SELECT trading_state FROM kill_switch_state WHERE id = 1) SELECT 1",
        "CREATE TABLE t (id int)",
        "ALTER TABLE klines_5m ADD COLUMN x int",
        "TRUNCATE risk_denials",
        "  closed_at, pnl_usd FROM positions WHERE status = 'closed'",  # a statement split over constants
    ],
)
def test_sql_is_recognised(text: str) -> None:
    assert looks_like_sql(text, TABLES)


@pytest.mark.parametrize(
    "text",
    [
        "Update delivery ``delivery_id`` with the outcome of one attempt.",
        "Create the pending delivery of ``alert``.",
        "With an engaged kill switch, nothing is approved.",
        "Read the closed trades from ``positions`` (R-04).",
        "the newest bar stored in klines_5m",
    ],
)
def test_prose_is_not_sql(text: str) -> None:
    assert not looks_like_sql(text, TABLES)


def test_sql_in_an_f_string_or_a_module_constant_is_found() -> None:
    source = (
        '_LATEST = "SELECT max(open_time) FROM klines_5m"\n'
        "def f(t):\n"
        '    """Update the book."""\n'
        '    return f"INSERT INTO {t} VALUES ($1)"\n'
    )
    assert [line for line, _ in sql_strings(source, TABLES)] == [1, 4]
