"""App factory of the gateway: routing, merged OpenAPI, CORS, request ids, body limits."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from services.gateway.docs import install_api_docs
from services.gateway.openapi import OpenApiCache
from services.gateway.proxy import Upstreams, forward
from services.gateway.settings import GatewaySettings
from services.gateway.static import install_web_app
from shared.errors import ServiceUnavailable, install_error_handlers, problem_responses
from shared.metrics import metrics_response
from shared.middleware import RequestContextMiddleware

SERVICES = (
    "identity",
    "catalog",
    "scanning",
    "moderation",
    "licensing",
    "billing",
    "audit",
    "notifications",
)
PROXY_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def http_upstreams(settings: GatewaySettings) -> Upstreams:
    """Pooled HTTP clients for the distributed mode, one per configured service."""
    timeout = httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout)
    limits = httpx.Limits(max_connections=settings.max_connections, max_keepalive_connections=20)
    clients = {
        name: httpx.AsyncClient(base_url=url.rstrip("/"), timeout=timeout, limits=limits)
        for name, url in settings.upstreams.items()
    }
    return Upstreams(clients, max_body_bytes=settings.max_body_bytes)


def in_process_upstreams(apps: dict[str, Any], settings: GatewaySettings) -> Upstreams:
    """ASGI clients that call each service app in this process (the all-in-one mode)."""
    timeout = httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout)
    clients = {
        name: httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url=f"http://{name}",
            timeout=timeout,
        )
        for name, app in apps.items()
    }
    return Upstreams(clients, max_body_bytes=settings.max_body_bytes, response_timeout=settings.read_timeout)


def create_gateway(settings: GatewaySettings | None = None, upstreams: Upstreams | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    upstreams = upstreams or http_upstreams(settings)
    openapi = OpenApiCache(upstreams, ttl=settings.openapi_cache_seconds, title="Wharf API", version="0.1.0")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        try:
            yield
        finally:
            await upstreams.aclose()

    app = FastAPI(
        title="Wharf gateway",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.upstreams = upstreams
    app.state.settings = settings
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=True,
        allow_methods=PROXY_METHODS,
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
        expose_headers=["X-Request-ID", "X-Correlation-ID", "Location"],
    )
    app.add_middleware(RequestContextMiddleware, service="gateway")
    install_error_handlers(app)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "gateway"}

    @app.get("/readyz", include_in_schema=False, responses=problem_responses(503))
    async def readyz() -> dict[str, Any]:
        async def probe(name: str) -> tuple[str, str]:
            try:
                response = await upstreams.client(name).get("/readyz", timeout=5.0)
            except httpx.HTTPError as exc:
                return name, f"unreachable: {type(exc).__name__}"
            return name, "ready" if response.status_code == 200 else f"not ready ({response.status_code})"

        results = dict(await asyncio.gather(*(probe(name) for name in upstreams.names)))
        if any(state != "ready" for state in results.values()):
            failed = ", ".join(f"{name} {state}" for name, state in results.items() if state != "ready")
            raise ServiceUnavailable(f"Not every service is ready: {failed}", services=results)
        return {"status": "ready", "services": results}

    @app.get("/metrics", include_in_schema=False)
    async def metrics():
        return metrics_response()

    @app.get("/openapi.json", include_in_schema=False)
    async def merged_openapi() -> JSONResponse:
        return JSONResponse(await openapi.document())

    install_api_docs(app)

    @app.api_route("/api/{service}/{path:path}", methods=PROXY_METHODS, include_in_schema=False)
    async def proxy(service: str, path: str, request: Request):
        return await forward(request, upstreams, service, path)

    # Last, because its catch-all path must not shadow the routes above.
    install_web_app(app)

    return app
