"""Structured JSON logging with request, correlation and event ids bound per context."""

from __future__ import annotations

import logging
import sys

import structlog

# Keys whose values never reach a log line, whatever a caller binds.
_SECRET_KEYS = frozenset(
    {"password", "token", "secret", "authorization", "refresh_token", "access_token", "api_key"}
)


def _drop_secrets(_logger, _method, event_dict):
    for key in list(event_dict):
        if key.lower() in _SECRET_KEYS:
            event_dict[key] = "[redacted]"
    return event_dict


def configure_logging(level: str = "INFO", json: bool = True) -> None:
    """Configure structlog and the standard library to write one JSON object per line."""
    processors = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _drop_secrets,
        structlog.processors.format_exc_info,
    ]
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=level.upper(), stream=sys.stderr, format="%(message)s")
    # Uvicorn's access log repeats what the request middleware logs with ids.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    # httpx logs every request at INFO; the gateway logs failures itself.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def get_logger(**bound) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger().bind(**bound)
