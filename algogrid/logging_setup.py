"""Structured logging (O-01): JSON lines to stdout and a rotating file, context variables, secret redaction.

Every record passes :func:`redact` before rendering, so a secret reaches neither stdout nor the file
even when a caller passes it by mistake: values under secret-looking keys, ``SecretStr`` values, passwords
inside URLs, bearer tokens, JWTs, and any value registered with :func:`register_secret` (e.g. the loaded API
secret) are replaced by ``***``. Standard-library loggers (alembic, hypercorn, asyncpg) share the chain.

Context: ``bind_context(request_id=…, user_id=…, symbol=…, correlation_id=…)`` binds values to the current
trio task / thread (``structlog.contextvars``); ``clear_context()`` drops them.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
from collections.abc import Mapping
from typing import Any, TextIO

import structlog
from pydantic import SecretBytes, SecretStr
from structlog.contextvars import bind_contextvars, clear_contextvars
from structlog.typing import EventDict, Processor, WrappedLogger

from algogrid.settings import LoggingConfig

__all__ = [
    "MASK",
    "bind_context",
    "clear_context",
    "configure_logging",
    "redact",
    "register_secret",
]

MASK = "***"

_SECRET_KEY = re.compile(
    r"password|passwd|passphrase|^pass$|secret|token|api_?key|authori[sz]ation|cookie|totp|(^|_)otp(_|$)"
    r"|private_?key|credential|signature|dsn",
    re.IGNORECASE,
)
# Keys that contain a secret word but hold no secret (e.g. a lock's fencing counter).
_SAFE_KEYS = frozenset({"fence", "token_count", "max_tokens"})
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@/\s]+)@", re.I)
_BEARER = re.compile(r"(?P<kind>Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
_QUERY_SECRET = re.compile(
    r"(?P<name>[?&;](?:secret|token|access_token|password|api_key|apikey|sign|signature)=)[^&#\s\"']+", re.I
)
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\b")

_registered: set[str] = set()
_HANDLER_MARK = "_algogrid_handler"


def register_secret(value: str | SecretStr | None) -> None:
    """Mask every later occurrence of ``value`` in any log field (values shorter than 4 chars are ignored)."""
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    if raw and len(raw) >= 4:
        _registered.add(raw)


def _scrub_text(text: str) -> str:
    for secret in _registered:
        if secret in text:
            text = text.replace(secret, MASK)
    text = _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    text = _BEARER.sub(lambda m: f"{m['kind']} {MASK}", text)
    text = _QUERY_SECRET.sub(lambda m: f"{m['name']}{MASK}", text)
    return _JWT.sub(MASK, text)


def _scrub(value: Any, depth: int = 0) -> Any:
    result = value
    if depth > 8:
        pass
    elif isinstance(value, SecretStr | SecretBytes):
        result = MASK
    elif isinstance(value, str):
        result = _scrub_text(value)
    elif isinstance(value, Mapping):
        result = {k: _scrub_item(str(k), v, depth + 1) for k, v in value.items()}
    elif isinstance(value, list | tuple | set | frozenset):
        result = [_scrub(v, depth + 1) for v in value]
    elif isinstance(value, BaseException):
        result = _scrub_text(f"{type(value).__name__}: {value}")
    return result


def _scrub_item(key: str, value: Any, depth: int) -> Any:
    if value is not None and key not in _SAFE_KEYS and _SECRET_KEY.search(key):
        return MASK
    return _scrub(value, depth)


def redact(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Replace secrets in ``event_dict`` by ``***`` (a structlog processor)."""
    return {key: _scrub_item(key, value, 0) for key, value in event_dict.items()}


def _redact_rendered_exception(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    # tracebacks are rendered into "exception" after `redact` ran; scrub the text again
    if isinstance(event_dict.get("exception"), str):
        event_dict["exception"] = _scrub_text(event_dict["exception"])
    return event_dict


def bind_context(**values: Any) -> None:
    """Bind context (request_id, user_id, symbol, correlation_id …) to the current task or thread."""
    bind_contextvars(**values)


def clear_context() -> None:
    """Drop every bound context variable."""
    clear_contextvars()


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="at"),
        structlog.stdlib.ExtraAdder(),
        redact,
    ]


def configure_logging(config: LoggingConfig, *, stream: TextIO | None = None) -> None:
    """Route structlog and stdlib logging to JSON lines on ``stream`` (stdout) and the rotating file.

    Calling it again replaces the handlers installed by the previous call.
    """
    shared = _shared_processors()
    renderer: Processor = structlog.processors.JSONRenderer()
    if not config.json_stdout:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    final: list[Processor] = [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        structlog.processors.format_exc_info,
        _redact_rendered_exception,
    ]

    def formatter(render: Processor) -> logging.Formatter:
        return structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=[*final, render])

    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            root.removeHandler(handler)
            handler.close()
    console = logging.StreamHandler(stream if stream is not None else sys.stdout)
    console.setFormatter(formatter(renderer))
    handlers: list[logging.Handler] = [console]
    if config.file is not None:
        config.file.parent.mkdir(parents=True, exist_ok=True)
        rotating = logging.handlers.RotatingFileHandler(
            config.file, maxBytes=config.max_bytes, backupCount=config.backup_count, encoding="utf-8"
        )
        rotating.setFormatter(formatter(structlog.processors.JSONRenderer()))
        handlers.append(rotating)
    for handler in handlers:
        setattr(handler, _HANDLER_MARK, True)
        root.addHandler(handler)
    root.setLevel(config.level)
    for noisy in ("asyncio", "alembic.runtime.migration", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(config.level)))

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )

