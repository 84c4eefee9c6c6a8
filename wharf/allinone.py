"""All-in-one mode: every service in one process behind the gateway on 127.0.0.1:8080."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import httpx
import structlog
import uvicorn

from services.gateway.app import SERVICES, create_gateway, in_process_upstreams
from services.gateway.settings import GatewaySettings
from shared.auth import JwksCache
from shared.clock import Clock, SystemClock
from shared.db import ensure_database
from shared.service import build_transport, database_url_for
from shared.settings import PlatformSettings
from wharf.embedded import start_embedded_postgres
from wharf.services import service_module

log = structlog.get_logger()

# Settings the all-in-one mode changes unless the environment sets them.
ALL_IN_ONE_DEFAULTS: dict[str, dict] = {}
if "WHARF_LICENSING_REGISTRY_MANAGED" not in os.environ:
    ALL_IN_ONE_DEFAULTS["licensing"] = {"registry_managed": True}


@contextlib.asynccontextmanager
async def all_in_one(
    platform: PlatformSettings,
    *,
    clock: Clock | None = None,
    gateway_settings: GatewaySettings | None = None,
    service_settings: dict[str, dict] | None = None,
):
    """Start every service in this process and yield the gateway app.

    The database is the configured server, or an embedded PostgreSQL under the data
    folder; the bus is RabbitMQ when an AMQP URL is set, else the in-memory bus. The
    licensing service starts the registry unless WHARF_LICENSING_REGISTRY_MANAGED is set
    to false. `service_settings` overrides settings per service (tests use it for ports).
    """
    service_settings = service_settings or {}
    clock = clock or SystemClock()
    async with contextlib.AsyncExitStack() as stack:
        if not platform.database_server_url:
            server_url, server = await start_embedded_postgres(Path(platform.data_dir) / "postgres")
            stack.callback(server.cleanup)  # stops the server unless another process holds it
            platform = platform.model_copy(update={"database_server_url": server_url})

        transport = build_transport(platform)
        await transport.start()
        stack.push_async_callback(transport.stop)

        apps = {}
        for name in SERVICES:
            module = service_module(name)
            overrides = {**ALL_IN_ONE_DEFAULTS.get(name, {}), **service_settings.get(name, {})}
            settings = module.SPEC.settings_class(**overrides)
            url = database_url_for(name, settings, platform)
            await ensure_database(url)
            apps[name] = module.create_app(
                settings=settings, database_url=url, platform=platform, transport=transport, clock=clock
            )

        # Services verify tokens against identity's JWKS, which lives in this process.
        identity_client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=apps["identity"]), base_url="http://identity"
        )
        stack.push_async_callback(identity_client.aclose)
        for app in apps.values():
            app.state.runtime.state["jwks"] = JwksCache(
                "http://identity/.well-known/jwks.json", client=identity_client
            )
            app.state.runtime.state["internal_clients"] = {"identity": identity_client}

        for name, app in apps.items():
            await stack.enter_async_context(app.router.lifespan_context(app))

        gateway_settings = gateway_settings or GatewaySettings()
        gateway = create_gateway(gateway_settings, in_process_upstreams(apps, gateway_settings))
        await stack.enter_async_context(gateway.router.lifespan_context(gateway))
        gateway.state.service_apps = apps
        yield gateway


async def serve_all_in_one(platform: PlatformSettings) -> None:
    gateway_settings = GatewaySettings()
    async with all_in_one(platform, gateway_settings=gateway_settings) as gateway:
        config = uvicorn.Config(
            gateway,
            host=gateway_settings.host,
            port=gateway_settings.port,
            lifespan="off",  # the services' lifespans are already running
            log_config=None,
        )
        server = uvicorn.Server(config)
        base = f"http://{gateway_settings.host}:{gateway_settings.port}"
        print(
            f"\nWharf is running at {base}\n"
            f"  API docs:   {base}/docs\n"
            f"  registry:   {registry_address(gateway)}\n"
            f"  readiness:  {base}/readyz\n"
            "Press Ctrl-C to stop.\n",
            flush=True,
        )
        await server.serve()



def registry_address(gateway) -> str:
    licensing = gateway.state.service_apps["licensing"].state.runtime
    process = licensing.state.get("registry_process")
    if process is None:
        return "not started here (WHARF_LICENSING_REGISTRY_MANAGED=false)"
    return process.url
