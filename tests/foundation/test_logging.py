"""Logging: JSON lines with context, rotation settings, and secrets that never reach the output (item 4)."""

from __future__ import annotations

import io
import json
import logging
import logging.handlers
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from pydantic import SecretStr

from algogrid.logging_setup import bind_context, clear_context, configure_logging, register_secret
from algogrid.settings import LoggingConfig

PASSWORD = "Correct-Horse-9-Battery"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJlLXZhbHVl"
API_SECRET = "bybit-api-secret-3f9a7c1e"
TOTP_SECRET = "JBSWY3DPEHPK3PXP"


@pytest.fixture
def output(tmp_path: Path) -> Iterator[tuple[io.StringIO, Path]]:
    stream = io.StringIO()
    logfile = tmp_path / "log" / "algogrid.jsonl"
    configure_logging(LoggingConfig(level="DEBUG", file=logfile), stream=stream)
    yield stream, logfile
    clear_context()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_algogrid_handler", False):
            root.removeHandler(handler)
            handler.close()
    structlog.reset_defaults()


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_events_are_json_lines_with_context_on_stdout_and_file(output: tuple[io.StringIO, Path]) -> None:
    stream, logfile = output
    bind_context(request_id="req-1", user_id="u-7", symbol="BTCUSDT", correlation_id="c-9")
    structlog.get_logger("algogrid.test").info("order placed", qty="0.01")
    [line] = _lines(stream)
    assert line["event"] == "order placed"
    assert line["level"] == "info"
    assert (line["request_id"], line["user_id"], line["symbol"], line["correlation_id"]) == (
        "req-1", "u-7", "BTCUSDT", "c-9"
    )
    assert "at" in line
    assert json.loads(logfile.read_text().splitlines()[-1])["event"] == "order placed"


def test_file_handler_rotates_at_100_mb_keeping_7_files(output: tuple[io.StringIO, Path]) -> None:
    rotating = logging.handlers.RotatingFileHandler
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, rotating)]
    assert [(h.maxBytes, h.backupCount) for h in handlers] == [(100 * 1024 * 1024, 7)]


def test_secrets_passed_to_a_log_call_never_reach_the_output(output: tuple[io.StringIO, Path]) -> None:
    stream, logfile = output
    register_secret(SecretStr(API_SECRET))
    log = structlog.get_logger("algogrid.test")
    log.info("user created", password=PASSWORD, email="a@b.c")
    log.info("login", access_token=TOKEN, headers={"Authorization": f"Bearer {TOKEN}"})
    log.info("key added", api_secret=API_SECRET, note=f"validated key with secret {API_SECRET}")
    log.info("2fa setup", totp_secret=TOTP_SECRET, uri=f"otpauth://totp/algogrid?secret={TOTP_SECRET}")
    log.info("config", creds=SecretStr(PASSWORD), dsn_like=f"postgresql://app:{PASSWORD}@db/x")
    log.info(f"raw jwt in the message {TOKEN}")
    try:
        raise RuntimeError(f"connect failed for postgresql://app:{PASSWORD}@db/x")
    except RuntimeError:
        log.exception("connect failed")
    logging.getLogger("thirdparty").warning("stdlib says %s", f"Bearer {TOKEN}")
    for text in (stream.getvalue(), logfile.read_text()):
        for secret in (PASSWORD, TOKEN, API_SECRET, TOTP_SECRET):
            assert secret not in text
    events = [line["event"] for line in _lines(stream)]
    assert "user created" in events
    assert "connect failed" in events
    assert len(events) == 8
    assert _lines(stream)[0]["email"] == "a@b.c"  # non-secret fields survive


def test_reconfiguring_replaces_handlers_instead_of_duplicating(output: tuple[io.StringIO, Path]) -> None:
    stream, _ = output
    second = io.StringIO()
    configure_logging(LoggingConfig(file=None), stream=second)
    structlog.get_logger("x").info("once")
    assert stream.getvalue() == ""
    assert [line["event"] for line in _lines(second)] == ["once"]
