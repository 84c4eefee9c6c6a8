"""Prometheus metrics, labelled by service so one process can host them all."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.responses import Response

HTTP_REQUESTS = Counter(
    "wharf_http_requests_total", "HTTP requests handled", ["service", "method", "status"]
)
HTTP_LATENCY = Histogram(
    "wharf_http_request_duration_seconds", "HTTP request latency in seconds", ["service", "method"]
)
EVENTS_PUBLISHED = Counter(
    "wharf_events_published_total", "Events relayed from the outbox", ["service", "type"]
)
OUTBOX_PUBLISH_FAILURES = Counter(
    "wharf_outbox_publish_failures_total", "Failed attempts to publish an outbox row", ["service"]
)
EVENTS_HANDLED = Counter(
    "wharf_events_handled_total",
    "Events delivered to a consumer, by outcome (handled, duplicate, retried, dead_lettered)",
    ["service", "type", "outcome"],
)


def metrics_response() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
