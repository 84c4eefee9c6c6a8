"""The frame every Wharf service is built on: runtime, app factory, health and metrics."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI, Request
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.auth import JwksCache
from shared.clock import Clock, FileOffsetClock, OffsetClock, SystemClock
from shared.db import create_engine, create_read_engine
from shared.errors import ServiceUnavailable, install_error_handlers, problem_responses
from shared.events.bus import Transport
from shared.events.consumer import Consumer, Handler
from shared.events.memory import InMemoryTransport
from shared.events.outbox import OutboxRelay
from shared.events.rabbitmq import RabbitMQTransport
from shared.metrics import metrics_response
from shared.middleware import RequestContextMiddleware
from shared.migrations import upgrade_async
from shared.settings import Environment, PlatformSettings, ServiceSettings

log = structlog.get_logger()

BackgroundTask = Callable[["Runtime"], Awaitable[None]]


@dataclass
class ServiceSpec:
    """A service's contribution to the frame: its name, tables, routes, event handlers and tasks."""

    name: str
    title: str
    description: str
    metadata: MetaData
    migrations_dir: Path
    settings_class: type[ServiceSettings]
    routers: list[APIRouter]
    handlers: Mapping[str, Handler] = field(default_factory=dict)
    # Long-running tasks started with the service (schedulers); cancelled on shutdown.
    background_tasks: list[BackgroundTask] = field(default_factory=list)
    # Called once the runtime is up, before serving (e.g. to create keys on first start).
    on_startup: list[Callable[["Runtime"], Awaitable[None]]] = field(default_factory=list)
    version: str = "0.1.0"


@dataclass
class Runtime:
    """Everything a running service holds: engine, sessions, bus, clock, settings."""

    service: str
    spec: ServiceSpec
    platform: PlatformSettings
    settings: Any
    database_url: str
    clock: Clock
    transport: Transport
    owns_transport: bool
    engine: AsyncEngine | None = None
    sessionmaker: async_sessionmaker[AsyncSession] | None = None
    # For read-only routes: the read database (or the main one), without transactions.
    read_engine: AsyncEngine | None = None
    read_sessionmaker: async_sessionmaker[AsyncSession] | None = None
    relay: OutboxRelay | None = None
    tasks: list[asyncio.Task] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)  # service-specific objects
    # Set once the consumer is subscribed (at once for a service that consumes nothing).
    subscribed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def metadata(self) -> MetaData:
        return self.spec.metadata

    async def start(self, *, migrate: bool = True, relay: bool = True) -> None:
        if migrate:
            await upgrade_async(self.spec.migrations_dir, self.database_url)
        self.engine = create_engine(self.database_url)
        self.sessionmaker = async_sessionmaker(
            self.engine, expire_on_commit=False, info={"runtime": self}
        )
        # Connections open on first use, so a service without read-only routes opens none.
        self.read_engine = create_read_engine(getattr(self.settings, "read_database_url", "") or self.database_url)
        self.read_sessionmaker = async_sessionmaker(
            self.read_engine, expire_on_commit=False, info={"runtime": self}
        )
        self.state.setdefault(
            "jwks", JwksCache(self.platform.identity_url.rstrip("/") + "/.well-known/jwks.json")
        )
        if self.owns_transport:
            await self.transport.start()

        consumer = Consumer(
            service=self.service,
            sessionmaker=self.sessionmaker,
            metadata=self.metadata,
            handlers=self.spec.handlers,
            clock=self.clock,
        )
        if consumer.handlers:
            self.tasks.append(
                asyncio.create_task(self._subscribe(consumer), name=f"{self.service}-subscribe")
            )
        else:
            self.subscribed.set()

        for hook in self.spec.on_startup:
            await hook(self)

        if relay:
            self.relay = OutboxRelay(
                service=self.service,
                sessionmaker=self.sessionmaker,
                outbox=self.metadata.tables["outbox"],
                transport=self.transport,
                clock=self.clock,
                database_url=self.database_url,
                poll_interval=self.platform.outbox_poll_interval,
                batch_size=self.platform.outbox_batch_size,
            )
            self.tasks.append(asyncio.create_task(self.relay.run(), name=f"{self.service}-relay"))
        for task in self.spec.background_tasks:
            self.tasks.append(asyncio.create_task(task(self), name=f"{self.service}-{task.__name__}"))
        log.info("service.started", service=self.service)

    async def _subscribe(self, consumer: Consumer) -> None:
        """Subscribe, retrying while the broker is down: a service starts without it."""
        delay = 0.5
        while True:
            try:
                await self.transport.subscribe(consumer)
                self.subscribed.set()
                return
            except Exception as exc:
                log.warning("bus.subscribe.failed", service=self.service, error=repr(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.tasks.clear()
        if self.owns_transport:
            await self.transport.stop()
        for engine in (self.engine, self.read_engine):
            if engine is not None:
                await engine.dispose()
        log.info("service.stopped", service=self.service)

    async def readiness(self) -> dict[str, str]:
        checks: dict[str, str] = {}
        try:
            async with self.engine.connect() as connection:
                await asyncio.wait_for(connection.execute(text("SELECT 1")), timeout=3)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"failed: {type(exc).__name__}"
        if not await self.transport.ping():
            checks["bus"] = "failed: not connected"
        elif not self.subscribed.is_set():
            checks["bus"] = "failed: not subscribed yet"
        else:
            checks["bus"] = "ok"
        return checks


def build_transport(platform: PlatformSettings) -> Transport:
    if platform.amqp_url:
        return RabbitMQTransport(
            platform.amqp_url,
            retry_delays=platform.retry_delays,
            prefetch=platform.consumer_prefetch,
            exchange=platform.amqp_exchange,
            queue_prefix=platform.amqp_queue_prefix,
        )
    return InMemoryTransport(retry_delays=platform.retry_delays)


def build_clock(platform: PlatformSettings) -> Clock:
    """Return the system clock, or the shared adjustable clock of WHARF_CLOCK_OFFSET_FILE."""
    if platform.clock_offset_file:
        return FileOffsetClock(platform.clock_offset_file)
    return SystemClock()


def database_url_for(service: str, settings: ServiceSettings, platform: PlatformSettings) -> str:
    """Return the service's own database URL, or its database on the platform's server."""
    if settings.database_url:
        return settings.database_url
    if not platform.database_server_url:
        raise RuntimeError(
            f"No database configured for {service}: set WHARF_{service.upper()}_DATABASE_URL "
            "or WHARF_DATABASE_SERVER_URL, or start it with `make run`, which embeds PostgreSQL"
        )
    return with_database(platform.database_server_url, f"{platform.database_prefix}_{service}")


def with_database(server_url: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(server_url).set(database=database).render_as_string(hide_password=False)


def create_service_app(
    spec: ServiceSpec,
    *,
    settings: Any = None,
    database_url: str | None = None,
    platform: PlatformSettings | None = None,
    transport: Transport | None = None,
    clock: Clock | None = None,
    migrate: bool = True,
    relay: bool = True,
    jwks: JwksCache | None = None,
) -> FastAPI:
    """Build a service's FastAPI app; its lifespan starts and stops the runtime.

    Pass a `transport` to share one bus between services (the all-in-one mode);
    otherwise the service builds its own from the platform settings and owns it.
    """
    platform = platform or PlatformSettings()
    settings = settings or spec.settings_class()
    database_url = database_url or database_url_for(spec.name, settings, platform)
    if isinstance(clock, OffsetClock) and platform.environment == Environment.PRODUCTION:
        raise ValueError(f"{spec.name}: an adjustable clock is for demos and tests, not production")
    runtime = Runtime(
        service=spec.name,
        spec=spec,
        platform=platform,
        settings=settings,
        database_url=database_url,
        clock=clock or build_clock(platform),
        transport=transport or build_transport(platform),
        owns_transport=transport is None,
    )
    if jwks is not None:
        runtime.state["jwks"] = jwks

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        await runtime.start(migrate=migrate, relay=relay)
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title=f"Wharf {spec.title}",
        description=spec.description,
        version=spec.version,
        lifespan=lifespan,
        responses=problem_responses(422, 500),
    )
    app.state.runtime = runtime
    app.add_middleware(RequestContextMiddleware, service=spec.name)
    install_error_handlers(app)
    app.include_router(_operations_router())
    for router in spec.routers:
        app.include_router(router)
    return app


def _operations_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", operation_id="healthz", summary="Liveness: the process is serving")
    async def healthz(request: Request) -> dict[str, str]:
        return {"status": "ok", "service": request.app.state.runtime.service}

    @router.get(
        "/readyz",
        operation_id="readyz",
        summary="Readiness: the database and the broker are reachable",
        responses=problem_responses(503),
    )
    async def readyz(request: Request) -> dict[str, Any]:
        runtime: Runtime = request.app.state.runtime
        checks = await runtime.readiness()
        if any(value != "ok" for value in checks.values()):
            failed = ", ".join(f"{name} {value}" for name, value in checks.items() if value != "ok")
            raise ServiceUnavailable(f"{runtime.service} is not ready: {failed}", checks=checks)
        return {"status": "ready", "service": runtime.service, "checks": checks}

    @router.get("/metrics", operation_id="metrics", summary="Prometheus metrics", include_in_schema=False)
    async def metrics():
        return metrics_response()

    return router
