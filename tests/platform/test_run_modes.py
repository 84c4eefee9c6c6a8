"""Both run modes answer readiness for every service through the gateway."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import pytest

from services.gateway.app import SERVICES, create_gateway
from services.gateway.settings import GatewaySettings
from shared.settings import PlatformSettings
from tests.support.environment import AMQP_URL, DATABASE_PREFIX, DATABASE_SERVER_URL
from tests.support.ports import free_port, free_port_range
from wharf.allinone import all_in_one

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
async def all_in_one_gateway():
    """The all-in-one mode exactly as `make run` starts it: embedded PostgreSQL, in-memory bus."""
    # Not under pytest's tmp folder: that is private to root (0700), and the embedded
    # server runs as its own system user, which must reach its data folder.
    data_dir = Path(tempfile.mkdtemp(prefix="wharf-all-in-one-"))
    data_dir.chmod(0o755)
    platform = PlatformSettings(data_dir=str(data_dir), database_server_url="", amqp_url="", log_json=False)
    try:
        registry = {"licensing": {"registry_managed": True, "registry_port": free_port()}}
        async with all_in_one(platform, service_settings=registry) as gateway:
            transport = httpx.ASGITransport(app=gateway, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
                yield client
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


async def test_all_in_one_every_service_ready(all_in_one_gateway):
    response = await all_in_one_gateway.get("/readyz")

    assert response.status_code == 200
    assert sorted(response.json()["services"]) == sorted(SERVICES)
    assert set(response.json()["services"].values()) == {"ready"}


async def test_all_in_one_starts_registry(all_in_one_gateway):
    licensing = all_in_one_gateway._transport.app.state.service_apps["licensing"].state.runtime
    registry_url = licensing.state["registry_process"].url

    async with httpx.AsyncClient() as client:
        response = await client.get(f"{registry_url}/v2/")

    # Token auth is on: the registry names licensing's token service as its realm.
    assert response.status_code == 401
    assert "/api/licensing/token" in response.headers["www-authenticate"]


async def test_all_in_one_wires_scanner_and_links(all_in_one_gateway):
    apps = all_in_one_gateway._transport.app.state.service_apps
    scanning = apps["scanning"].state.runtime.settings
    licensing = apps["licensing"].state.runtime.settings
    gateway = all_in_one_gateway._transport.app.state.settings
    base = f"http://{gateway.host}:{gateway.port}"

    assert scanning.registry_url == licensing.resolved_registry_url()
    assert scanning.registry_username == licensing.service_account
    assert scanning.registry_password.get_secret_value() == apps["scanning"].state.runtime.platform.internal_token
    assert licensing.token_realm == f"{base}/api/licensing/token"
    assert apps["identity"].state.runtime.settings.public_base_url == base


async def test_all_in_one_wires_checkout_and_pull_commands(all_in_one_gateway):
    apps = all_in_one_gateway._transport.app.state.service_apps
    billing = apps["billing"].state.runtime.settings
    licensing = apps["licensing"].state.runtime.settings
    gateway = all_in_one_gateway._transport.app.state.settings
    base = f"http://{gateway.host}:{gateway.port}"

    assert billing.public_url == f"{base}/api/billing"
    assert billing.success_url == f"{base}/orders/{{ORDER_ID}}?checkout=success"
    assert billing.cancel_url == f"{base}/orders/{{ORDER_ID}}?checkout=canceled"
    assert billing.portal_return_url == f"{base}/account/subscriptions"
    assert apps["catalog"].state.runtime.settings.registry_address == f"127.0.0.1:{licensing.registry_port}"


async def test_each_service_readyz_through_gateway(all_in_one_gateway):
    for service in SERVICES:
        response = await all_in_one_gateway.get(f"/api/{service}/readyz")
        assert response.status_code == 200, service
        assert response.json()["service"] == service
        assert response.json()["checks"] == {"database": "ok", "bus": "ok"}


async def test_merged_openapi_has_every_service(all_in_one_gateway):
    document = (await all_in_one_gateway.get("/openapi.json")).json()

    for service in SERVICES:
        assert f"/api/{service}/readyz" in document["paths"], service
    assert not [path for path in document["paths"] if "/internal" in path]
    operation_ids = [
        operation["operationId"]
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    ]
    assert len(operation_ids) == len(set(operation_ids))


async def test_gateway_request_id_returned(all_in_one_gateway):
    response = await all_in_one_gateway.get("/api/catalog/healthz", headers={"X-Request-ID": "abc-123"})

    assert response.headers["x-request-id"] == "abc-123"


async def test_gateway_unknown_service_404(all_in_one_gateway):
    response = await all_in_one_gateway.get("/api/nosuch/healthz")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "nosuch" in response.json()["detail"]


async def test_gateway_hides_internal_routes(all_in_one_gateway):
    response = await all_in_one_gateway.post("/api/identity/internal/credentials/check", json={})

    assert response.status_code == 404


async def test_gateway_body_limit_413():
    settings = GatewaySettings(upstreams={"catalog": "http://127.0.0.1:9"}, max_body_bytes=1000)
    gateway = create_gateway(settings)
    transport = httpx.ASGITransport(app=gateway, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        response = await client.post("/api/catalog/products", content=b"x" * 5000)

    assert response.status_code == 413
    assert "1000 bytes" in response.json()["detail"]


async def test_gateway_unreachable_upstream_502():
    settings = GatewaySettings(upstreams={"catalog": f"http://127.0.0.1:{free_port()}"})
    gateway = create_gateway(settings)
    transport = httpx.ASGITransport(app=gateway, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        response = await client.get("/api/catalog/products")

    assert response.status_code == 502
    assert response.json()["detail"] == "The catalog service is unreachable"


async def test_gateway_slow_upstream_504():
    async def never_answer(reader, writer):
        await asyncio.sleep(30)

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = GatewaySettings(upstreams={"catalog": f"http://127.0.0.1:{port}"}, read_timeout=0.5)
    gateway = create_gateway(settings)
    transport = httpx.ASGITransport(app=gateway, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            response = await client.get("/api/catalog/products")
    finally:
        server.close()

    assert response.status_code == 504
    assert response.json()["detail"] == "The catalog service timed out before it sent a response"


def test_distributed_mode_every_service_ready():
    base_port = free_port_range(len(SERVICES))
    gateway_port = free_port()
    suffix = uuid.uuid4().hex[:8]
    environment = {
        **os.environ,
        "WHARF_DATABASE_SERVER_URL": DATABASE_SERVER_URL,
        "WHARF_DATABASE_PREFIX": f"{DATABASE_PREFIX}_dist",
        "WHARF_AMQP_URL": AMQP_URL,
        "WHARF_AMQP_EXCHANGE": f"wharf-test-{suffix}",
        "WHARF_AMQP_QUEUE_PREFIX": f"wharf-test-{suffix}",
        "WHARF_BASE_PORT": str(base_port),
        "WHARF_GATEWAY_PORT": str(gateway_port),
        "WHARF_LICENSING_REGISTRY_PORT": str(free_port()),
        "WHARF_DATA_DIR": tempfile.mkdtemp(prefix="wharf-distributed-"),
        "WHARF_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPOSITORY),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "wharf", "up"], cwd=REPOSITORY, env=environment, start_new_session=True
    )
    try:
        body = _wait_ready(f"http://127.0.0.1:{gateway_port}", timeout=120)
        for service in SERVICES:
            response = httpx.get(f"http://127.0.0.1:{gateway_port}/api/{service}/readyz", timeout=5)
            assert response.status_code == 200, service
        document = httpx.get(f"http://127.0.0.1:{gateway_port}/openapi.json", timeout=10).json()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)

    assert set(body["services"].values()) == {"ready"}
    for service in SERVICES:
        assert f"/api/{service}/readyz" in document["paths"], service


def _wait_ready(base_url: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{base_url}/readyz", timeout=3)
            if response.status_code == 200:
                return response.json()
            last = response.text
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.5)
    raise AssertionError(f"the gateway at {base_url} did not become ready: {last}")


async def test_gateway_hides_internal_behind_dot_segments(all_in_one_gateway):
    headers = {"X-Wharf-Internal-Token": "development-internal-token"}
    for path in ("./internal/users/x", "x/../internal/users/x", "/internal/users/x", ".%2Finternal/users/x"):
        response = await all_in_one_gateway.get(f"/api/identity/{path}", headers=headers)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json", path


async def test_nul_character_rejected_with_422(all_in_one_gateway):
    response = await all_in_one_gateway.post(
        "/api/identity/sessions", json={"username": "bob\u0000", "password": "x" * 12}
    )

    assert response.status_code == 422
    assert "NUL" in response.json()["detail"]
