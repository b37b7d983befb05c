"""Structured logs: one JSON line per event, never patient data or tokens.

Log calls pass ids (session 12, device 3), never names, MRNs or secrets; the
redaction processor is a second line of defence for keys that must not leak.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

_REDACTED_KEYS = frozenset(
    {"password", "token", "access_token", "authorization", "display_name", "ref", "patient"}
)


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if key.lower() in _REDACTED_KEYS:
            event[key] = "[redacted]"
    return event


#: A query string inside a logged request line or URL: `/api/v1/ws?token=...`.
_QUERY = re.compile(r"(/[^\s\"'?]*)\?[^\s\"']*")
#: Anything shaped like a JWT or a device token, wherever it appears.
_SECRETS = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+|vwd_[\w-]{20,}")


def scrub(text: str) -> str:
    """A log line without query strings and without anything shaped like a token."""
    return _SECRETS.sub("[redacted]", _QUERY.sub(r"\1?[query removed]", text))


class _ScrubFilter(logging.Filter):
    """Second line of defence for records we do not word ourselves (uvicorn's
    "WebSocket /api/v1/ws?token=... [accepted]", its access log, tracebacks)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args or isinstance(record.msg, str):
            message = record.getMessage()
            cleaned = scrub(message)
            if cleaned != message:
                record.msg, record.args = cleaned, None
        return True


def configure_logging(level: str = "INFO", json: bool = True) -> None:
    """Route structlog and stdlib logging (uvicorn, alembic) to one format."""
    renderer: Any = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
            foreign_pre_chain=shared,
        )
    )
    handler.addFilter(_ScrubFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiosqlite's DEBUG lines carry every statement's parameters (patient data).
    logging.getLogger("aiosqlite").setLevel(max(logging.INFO, root.level))
    # uvicorn's access log (off unless VITALWATCH_ACCESS_LOG) goes through the
    # same handler, so its query strings are removed too.
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)  # type: ignore[no-any-return]
