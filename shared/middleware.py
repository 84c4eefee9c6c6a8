"""Request ids, correlation ids and request metrics, as a plain ASGI middleware."""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.context import bind_ids
from shared.metrics import HTTP_LATENCY, HTTP_REQUESTS

# Accept a caller's id only if it is short and plain, so it cannot inject log content.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

log = structlog.get_logger()


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            text = value.decode("latin-1")
            return text if _SAFE_ID.match(text) else None
    return None


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        request_id = _header(scope, b"x-request-id") or uuid.uuid4().hex
        correlation_id = _header(scope, b"x-correlation-id") or request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(service=self.service)
        bind_ids(request_id=request_id, correlation_id=correlation_id)
        started = time.perf_counter()
        status_holder = {"status": 500}

        async def send_with_ids(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                headers.append((b"x-correlation-id", correlation_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_ids)
        finally:
            elapsed = time.perf_counter() - started
            method = scope.get("method", "?")
            HTTP_REQUESTS.labels(self.service, method, str(status_holder["status"])).inc()
            HTTP_LATENCY.labels(self.service, method).observe(elapsed)
