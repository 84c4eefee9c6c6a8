"""All-in-one mode: every service in one process behind the gateway on 127.0.0.1:8080."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import httpx
from pydantic import SecretStr
import structlog
import uvicorn

from services.gateway.app import SERVICES, create_gateway, in_process_upstreams
from services.gateway.settings import GatewaySettings
from shared.auth import JwksCache
from shared.clock import Clock
from shared.db import ensure_database
from shared.service import build_clock, build_transport, database_url_for
from shared.settings import PlatformSettings
from wharf.embedded import start_embedded_postgres
from wharf.services import service_module

log = structlog.get_logger()

# Settings the all-in-one mode changes unless the environment sets them.
ALL_IN_ONE_DEFAULTS: dict[str, dict] = {}
if "WHARF_LICENSING_REGISTRY_MANAGED" not in os.environ:
    ALL_IN_ONE_DEFAULTS["licensing"] = {"registry_managed": True}
# On a developer's machine the local mailbox is the only way to read a verification
# link; the notifications service refuses this setting in production.
if "WHARF_NOTIFICATIONS_MAILBOX_OPEN_READ" not in os.environ and os.environ.get(
    "WHARF_ENVIRONMENT", "development"
) == "development":
    ALL_IN_ONE_DEFAULTS["notifications"] = {"mailbox_open_read": True}


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
    # One clock for every service, so that moving it moves the whole store.
    clock = clock or build_clock(platform)
    async with contextlib.AsyncExitStack() as stack:
        if not platform.database_server_url:
            server_url, server = await start_embedded_postgres(Path(platform.data_dir) / "postgres")
            stack.callback(server.cleanup)  # stops the server unless another process still uses it
            platform = platform.model_copy(update={"database_server_url": server_url})

        transport = build_transport(platform)
        await transport.start()
        stack.push_async_callback(transport.stop)

        apps = {}
        all_settings = {}
        for name in SERVICES:
            overrides = {**ALL_IN_ONE_DEFAULTS.get(name, {}), **service_settings.get(name, {})}
            all_settings[name] = service_module(name).SPEC.settings_class(**overrides)
        gateway_settings = gateway_settings or GatewaySettings()
        connect_scanner_to_registry(all_settings, platform, gateway_settings)
        point_links_at_gateway(all_settings, gateway_settings)

        for name in SERVICES:
            module = service_module(name)
            settings = all_settings[name]
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

        gateway = create_gateway(gateway_settings, in_process_upstreams(apps, gateway_settings))
        await stack.enter_async_context(gateway.router.lifespan_context(gateway))
        gateway.state.service_apps = apps
        yield gateway


def connect_scanner_to_registry(all_settings: dict, platform: PlatformSettings, gateway: GatewaySettings) -> None:
    """Point the scanner at the registry licensing runs, as licensing's service account.

    The registry sends clients to the token service behind the gateway, a host other
    than the registry's, so that host is added to the scanner's allowed token hosts.
    """
    licensing = all_settings["licensing"]
    scanning = all_settings["scanning"]
    updates = {}
    if "WHARF_SCANNING_REGISTRY_URL" not in os.environ:
        updates["registry_url"] = licensing.resolved_registry_url()
    if "WHARF_SCANNING_REGISTRY_USERNAME" not in os.environ:
        updates["registry_username"] = licensing.service_account
        updates["registry_password"] = SecretStr(platform.internal_token)
    if "WHARF_SCANNING_TOKEN_REALM_HOSTS" not in os.environ:
        updates["token_realm_hosts"] = [f"{gateway.host}:{gateway.port}"]
    if "WHARF_SCANNING_STORAGE_DIR" not in os.environ:
        updates["storage_dir"] = str(Path(platform.data_dir) / "scanning")
    all_settings["scanning"] = scanning.model_copy(update=updates)

    # Pull commands on product pages name the registry that licensing runs here.
    if licensing.registry_managed and "WHARF_CATALOG_REGISTRY_ADDRESS" not in os.environ:
        address = f"{licensing.registry_host}:{licensing.registry_port}"
        all_settings["catalog"] = all_settings["catalog"].model_copy(update={"registry_address": address})


# Settings that hold an address of the gateway: (service, field, path after the gateway).
GATEWAY_ADDRESSES = (
    ("identity", "public_base_url", ""),
    ("licensing", "token_realm", "/api/licensing/token"),
    ("licensing", "notifications_url", "/api/licensing/registry/notifications"),
    ("notifications", "api_url", "/api/notifications"),
    ("notifications", "store_url", ""),
    ("billing", "public_url", "/api/billing"),
    ("billing", "success_url", "/orders/{ORDER_ID}?checkout=success"),
    ("billing", "cancel_url", "/orders/{ORDER_ID}?checkout=canceled"),
    ("billing", "portal_return_url", "/account/subscriptions"),
)


def point_links_at_gateway(all_settings: dict, gateway: GatewaySettings) -> None:
    """Derive links, the token realm and the registry's notification URL from the gateway's address.

    Without this, moving the gateway with WHARF_GATEWAY_PORT would leave emails and the
    registry pointing at port 8080. Settings given in the environment are kept.
    """
    base = f"http://{gateway.host}:{gateway.port}"
    for service, field, path in GATEWAY_ADDRESSES:
        variable = f"WHARF_{service.upper()}_{field.upper()}"
        if variable not in os.environ and hasattr(all_settings[service], field):
            all_settings[service] = all_settings[service].model_copy(update={field: base + path})


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
        if not port_is_free(gateway_settings.host, gateway_settings.port):
            raise SystemExit(
                f"Port {gateway_settings.port} on {gateway_settings.host} is already in use: stop what "
                "listens there or set WHARF_GATEWAY_PORT (and WHARF_LICENSING_REGISTRY_PORT if 5000 is taken too)"
            )
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


def port_is_free(host: str, port: int) -> bool:
    import socket

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True
