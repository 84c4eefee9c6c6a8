"""Ids that follow one piece of work from an HTTP request into every event and handler."""

from __future__ import annotations

from contextvars import ContextVar

import structlog

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
correlation_id_var: ContextVar[str | None] = ContextVar("correlation_id", default=None)
# The event being handled, so events emitted by a handler name it as their cause.
causation_id_var: ContextVar[str | None] = ContextVar("causation_id", default=None)


def bind_ids(*, request_id=None, correlation_id=None, event_id=None) -> None:
    """Set the current ids and bind them into every log line of this context."""
    if request_id is not None:
        request_id_var.set(request_id)
    if correlation_id is not None:
        correlation_id_var.set(correlation_id)
    if event_id is not None:
        causation_id_var.set(event_id)
    fields = {
        "request_id": request_id,
        "correlation_id": correlation_id,
        "event_id": event_id,
    }
    structlog.contextvars.bind_contextvars(**{k: v for k, v in fields.items() if v is not None})
