"""Forward `/api/<service>/...` to the service, streaming bodies both ways."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import quote, unquote

import httpx
import structlog
from fastapi import Request
from starlette.background import BackgroundTask
from starlette.responses import StreamingResponse

from shared.context import correlation_id_var, request_id_var
from shared.errors import BadGateway, GatewayTimeout, NotFound, PayloadTooLarge

log = structlog.get_logger()

# Hop-by-hop headers (RFC 9110, section 7.6.1) are meaningful for one connection only.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


class Upstreams:
    """An httpx client per service: pooled HTTP in distributed mode, ASGI in process otherwise.

    httpx's ASGI transport ignores the client's timeouts, so in-process clients get
    `response_timeout`: the seconds a service may take to respond before `send` raises
    `httpx.ReadTimeout`, as the HTTP clients' read timeout does.

    NOTE: in process the timeout covers the whole response, body included, because the
    ASGI transport returns only after the app has finished. A streamed export that takes
    longer gets 504 there, where over HTTP only a gap between two chunks counts.
    """

    def __init__(
        self,
        clients: dict[str, httpx.AsyncClient],
        *,
        max_body_bytes: int,
        response_timeout: float | None = None,
    ) -> None:
        self.clients = clients
        self.max_body_bytes = max_body_bytes
        self.response_timeout = response_timeout

    @property
    def names(self) -> list[str]:
        return sorted(self.clients)

    def client(self, service: str) -> httpx.AsyncClient:
        try:
            return self.clients[service]
        except KeyError:
            raise NotFound(f"No service named {service!r}; known services: {', '.join(self.names)}") from None

    async def send(self, service: str, request: httpx.Request) -> httpx.Response:
        """Send `request` to `service` and return the response, whose body the caller reads."""
        sending = self.client(service).send(request, stream=True)
        if self.response_timeout is None:
            return await sending
        try:
            return await asyncio.wait_for(sending, self.response_timeout)
        except TimeoutError as exc:
            raise httpx.ReadTimeout(
                f"No response within {self.response_timeout} seconds", request=request
            ) from exc

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()


class LimitedBody:
    """A request body streamed to the upstream, which raises `PayloadTooLarge` past `limit` bytes.

    A chunked body declares no length, so the limit is only found while streaming. In the
    all-in-one mode the service reads this stream itself and turns the error into its own
    400 response, so `forward` also checks `exceeded` after the upstream has responded.
    """

    def __init__(self, request: Request, limit: int) -> None:
        self.request = request
        self.limit = limit
        self.exceeded = False

    def error(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"The request body exceeds the limit of {self.limit} bytes")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        received = 0
        async for chunk in self.request.stream():
            received += len(chunk)
            if received > self.limit:
                self.exceeded = True
                raise self.error()
            yield chunk


def normalise_path(path: str) -> str:
    """Resolve percent-escapes, `.` and `..` segments and empty segments, as the service will.

    The internal-route check must look at the path the service finally routes, or
    `./internal/...` and `x/../internal/...` would slip past it.
    """
    segments: list[str] = []
    for segment in unquote(path).split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    return "/".join(segments)


async def forward(request: Request, upstreams: Upstreams, service: str, path: str) -> StreamingResponse:
    client = upstreams.client(service)
    path = normalise_path(path)
    # Service-to-service routes are never reachable from outside.
    if path == "internal" or path.startswith("internal/"):
        raise NotFound(f"{request.url.path} not found")

    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > upstreams.max_body_bytes:
        raise PayloadTooLarge(
            f"The request body of {declared} bytes exceeds the limit of {upstreams.max_body_bytes} bytes"
        )

    # The internal token authenticates services to each other; a client never sends it on.
    # Services build error `instance` paths from X-Forwarded-Prefix, so only the gateway's counts.
    headers = [
        (k, v)
        for k, v in request.headers.items()
        if k.lower() not in HOP_BY_HOP and k.lower() not in ("x-wharf-internal-token", "x-forwarded-prefix")
    ]
    headers += [
        ("x-request-id", request_id_var.get() or ""),
        ("x-correlation-id", correlation_id_var.get() or ""),
        ("x-forwarded-prefix", f"/api/{service}"),
        ("x-forwarded-host", request.headers.get("host", "")),
        ("x-forwarded-proto", request.url.scheme),
    ]
    if request.client is not None:
        headers.append(("x-forwarded-for", request.client.host))
    body = LimitedBody(request, upstreams.max_body_bytes) if request.method not in ("GET", "HEAD") else None

    upstream_request = client.build_request(
        request.method,
        "/" + quote(path),
        params=request.query_params.multi_items(),
        headers=headers,
        content=body,
    )
    try:
        response = await upstreams.send(service, upstream_request)
    except httpx.TimeoutException as exc:
        log.warning("gateway.upstream.timeout", upstream=service, path=path, error=repr(exc))
        raise GatewayTimeout(f"The {service} service timed out before it sent a response") from exc
    except httpx.TransportError as exc:
        log.warning("gateway.upstream.unreachable", upstream=service, path=path, error=repr(exc))
        raise BadGateway(f"The {service} service is unreachable") from exc
    if body is not None and body.exceeded:
        await response.aclose()
        raise body.error()

    response_headers = {
        k: v for k, v in response.headers.items() if k.lower() not in HOP_BY_HOP and k.lower() not in ("x-request-id", "x-correlation-id")
    }
    return StreamingResponse(
        response.aiter_raw(),
        status_code=response.status_code,
        headers=response_headers,
        background=BackgroundTask(response.aclose),
    )
