"""The demo's store: the all-in-one mode in this process, served by uvicorn on its own port.

It runs on the all-in-one defaults (embedded PostgreSQL, in-memory bus, the registry
started by licensing, sandbox checkout, local mailbox) with an adjustable clock shared by
every service. Ports are free ones unless given, so it runs beside `make run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import uvicorn

from services.gateway.settings import GatewaySettings
from services.scanning.vulns.osv import FEED_DIR_VARIABLE
from shared.clock import OffsetClock
from shared.settings import PlatformSettings
from wharf.allinone import all_in_one

# The one-pass function of each scheduler the journey triggers, by service.
SCHEDULER_PASSES = {
    "moderation": ("services.moderation.scheduler", "run_once"),
    "audit": ("services.audit.scheduler", "run_once"),
    "billing": ("services.billing.statements", "issue_due_statements"),
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def store_settings(
    *,
    gateway_url: str,
    registry_port: int,
    admin: tuple[str, str, str],
) -> dict[str, dict]:
    """Return the per-service settings of a store whose gateway and registry are on these ports.

    `admin` is the (username, email, password) of the store admin created at start-up.
    """
    registry = f"127.0.0.1:{registry_port}"
    return {
        "identity": {
            "public_base_url": gateway_url,
            "bootstrap_admin_username": admin[0],
            "bootstrap_admin_email": admin[1],
            "bootstrap_admin_password": admin[2],
        },
        "licensing": {
            "registry_managed": True,
            "registry_port": registry_port,
            "token_realm": f"{gateway_url}/api/licensing/token",
            "notifications_url": f"{gateway_url}/api/licensing/registry/notifications",
        },
        # The all-in-one launcher points the scanner at licensing's registry.
        # The journey imports the feeds at the steps that show their effect.
        "scanning": {"worker_poll_interval": 0.5, "import_feeds_at_start": False},
        "catalog": {"registry_address": registry},
        "billing": {
            # 20 % VAT within the prices, so the sandbox payments carry tax as Stripe Tax would.
            "sandbox_tax_basis_points": 2000,
            "public_url": f"{gateway_url}/api/billing",
            "success_url": f"{gateway_url}/orders/{{ORDER_ID}}?checkout=success",
            "cancel_url": f"{gateway_url}/orders/{{ORDER_ID}}?checkout=canceled",
            "portal_return_url": f"{gateway_url}/account/subscriptions",
        },
    }


@dataclass
class InProcessStore:
    """A `Store` for the journey: every service in this process, one `OffsetClock`."""

    gateway_url: str
    registry_address: str
    admin_credentials: tuple[str, str]
    feed_dir: Path
    clock: OffsetClock
    gateway: object

    def now(self) -> datetime:
        return self.clock.now()

    async def advance_clock_to(self, moment: datetime) -> datetime:
        return self.clock.advance_to(moment)

    async def run_scheduler(self, service: str) -> None:
        module_name, function_name = SCHEDULER_PASSES[service]
        run_once = getattr(importlib.import_module(module_name), function_name)
        await run_once(self.gateway.state.service_apps[service].state.runtime)

    async def after_submission(self) -> None:
        return None


@contextlib.asynccontextmanager
async def in_process_store(
    data_dir: Path,
    *,
    port: int | None = None,
    database_server_url: str = "",
    database_prefix: str = "wharf",
    log_json: bool = True,
):
    """Start the all-in-one store serving on 127.0.0.1:`port` and yield an `InProcessStore`."""
    port = port or free_port()
    feed_dir = data_dir / "osv-feeds"
    feed_dir.mkdir(parents=True, exist_ok=True)
    # The scanning service reads the feed folder from the environment at each import.
    previous_feed_dir = os.environ.get(FEED_DIR_VARIABLE)
    os.environ[FEED_DIR_VARIABLE] = str(feed_dir)
    try:
        serving = _serving(
            data_dir,
            port=port,
            feed_dir=feed_dir,
            database_server_url=database_server_url,
            database_prefix=database_prefix,
            log_json=log_json,
        )
        async with serving as store:
            yield store
    finally:
        if previous_feed_dir is None:
            os.environ.pop(FEED_DIR_VARIABLE, None)
        else:
            os.environ[FEED_DIR_VARIABLE] = previous_feed_dir


@contextlib.asynccontextmanager
async def _serving(
    data_dir: Path, *, port: int, feed_dir: Path, database_server_url: str, database_prefix: str, log_json: bool
):
    registry_port = free_port()
    gateway_url = f"http://127.0.0.1:{port}"

    platform = PlatformSettings(
        data_dir=str(data_dir),
        database_server_url=database_server_url,
        database_prefix=database_prefix,
        amqp_url="",
        log_json=log_json,
        identity_url=f"{gateway_url}/api/identity",
    )
    admin = ("store-admin", "admin@demo.example.com", secrets.token_urlsafe(18))
    settings = store_settings(gateway_url=gateway_url, registry_port=registry_port, admin=admin)
    clock = OffsetClock()
    gateway_settings = GatewaySettings(host="127.0.0.1", port=port)

    started = all_in_one(platform, clock=clock, gateway_settings=gateway_settings, service_settings=settings)
    async with started as gateway:
        config = uvicorn.Config(
            gateway, host="127.0.0.1", port=port, lifespan="off", log_config=None, log_level="warning"
        )
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve(), name="demo-gateway")
        while not server.started:
            if serving.done():
                serving.result()  # raises the reason uvicorn stopped, such as a port in use
            await asyncio.sleep(0.05)
        try:
            yield InProcessStore(
                gateway_url=gateway_url,
                registry_address=f"127.0.0.1:{registry_port}",
                admin_credentials=(admin[0], admin[2]),
                feed_dir=feed_dir,
                clock=clock,
                gateway=gateway,
            )
        finally:
            server.should_exit = True
            await serving
