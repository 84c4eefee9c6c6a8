"""Distributed mode on one machine: each service its own process, RabbitMQ as the bus."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx
import uvicorn

from services.gateway.app import SERVICES, create_gateway
from services.gateway.settings import GatewaySettings
from shared.db import ensure_database
from shared.service import database_url_for
from shared.settings import DEFAULT_AMQP_URL, DEVELOPMENT_INTERNAL_TOKEN, PlatformSettings
from wharf.services import distributed_ports, service_module

DEFAULT_SERVER_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def serve_service(name: str, host: str, port: int) -> None:
    """Run one service in this process (what each child of `up` does)."""
    module = service_module(name)
    platform = PlatformSettings()
    settings = module.SPEC.settings_class()
    url = database_url_for(name, settings, platform)

    import asyncio

    asyncio.run(ensure_database(url))
    app = module.create_app(settings=settings, database_url=url, platform=platform)
    uvicorn.run(app, host=host, port=port, log_config=None)


def serve_gateway() -> None:
    settings = GatewaySettings()
    uvicorn.run(create_gateway(settings), host=settings.host, port=settings.port, log_config=None)


def child_environment(ports: dict[str, int]) -> dict[str, str]:
    environment = dict(os.environ)
    environment.setdefault("WHARF_DATABASE_SERVER_URL", DEFAULT_SERVER_URL)
    environment.setdefault("WHARF_AMQP_URL", DEFAULT_AMQP_URL)
    # Services call identity directly: the gateway never forwards `/internal/` routes.
    environment.setdefault("WHARF_IDENTITY_URL", f"http://127.0.0.1:{ports['identity']}")
    environment.setdefault("WHARF_LICENSING_REGISTRY_MANAGED", "true")
    gateway = f"http://127.0.0.1:{environment.get('WHARF_GATEWAY_PORT', '8080')}"
    environment.setdefault("WHARF_LICENSING_TOKEN_REALM", f"{gateway}/api/licensing/token")
    environment.setdefault(
        "WHARF_LICENSING_NOTIFICATIONS_URL", f"{gateway}/api/licensing/registry/notifications"
    )
    # The scanner pulls from the registry as licensing's service account.
    registry_port = environment.get("WHARF_LICENSING_REGISTRY_PORT", "5000")
    environment.setdefault("WHARF_SCANNING_REGISTRY_URL", f"http://127.0.0.1:{registry_port}")
    environment.setdefault("WHARF_SCANNING_REGISTRY_USERNAME", "wharf-service")
    environment.setdefault(
        "WHARF_SCANNING_REGISTRY_PASSWORD", environment.get("WHARF_INTERNAL_TOKEN", DEVELOPMENT_INTERNAL_TOKEN)
    )
    environment.setdefault(
        "WHARF_SCANNING_TOKEN_REALM_HOSTS", json.dumps([gateway.removeprefix("http://")])
    )
    environment.setdefault(
        "WHARF_GATEWAY_UPSTREAMS",
        json.dumps({name: f"http://127.0.0.1:{port}" for name, port in ports.items()}),
    )
    return environment


def start_children(environment: dict[str, str], ports: dict[str, int]) -> dict[str, subprocess.Popen]:
    children = {}
    for name in SERVICES:
        children[name] = subprocess.Popen(
            [sys.executable, "-m", "wharf", "serve", name, "--port", str(ports[name])],
            env=environment,
        )
    children["gateway"] = subprocess.Popen([sys.executable, "-m", "wharf", "gateway"], env=environment)
    return children


def wait_ready(base_url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


def run_distributed() -> int:
    """Start every service and the gateway as child processes; stop them all on Ctrl-C."""
    # WHARF_BASE_PORT moves every service's port, to run beside another instance.
    ports = distributed_ports(int(os.environ.get("WHARF_BASE_PORT", "8101")))
    environment = child_environment(ports)
    children = start_children(environment, ports)
    base = "http://127.0.0.1:" + environment.get("WHARF_GATEWAY_PORT", "8080")
    try:
        if wait_ready(base, timeout=90):
            print(f"\nWharf (distributed) is ready at {base}; API docs at {base}/docs. Ctrl-C stops it.\n", flush=True)
        else:
            print(f"Not every service became ready; see {base}/readyz and the logs above.", file=sys.stderr)
        while all(child.poll() is None for child in children.values()):
            time.sleep(0.5)
        stopped = [name for name, child in children.items() if child.poll() is not None]
        print(f"Stopping: process(es) exited: {', '.join(stopped)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children.values():
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
