"""The gateway of the all-in-one mode, which calls the services in this process.

Each test puts the gateway in front of the real identity service on the real
PostgreSQL, as `wharf.allinone` does for every service.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text

from services.gateway.app import create_gateway, in_process_upstreams
from services.gateway.settings import GatewaySettings
from services.identity.app import create_app
from shared.events.memory import InMemoryTransport
from tests.identity.conftest import Identity, bearer, identity_settings, token_of
from tests.support.services import RunningService, running_service


@pytest.fixture
async def identity() -> AsyncIterator[RunningService]:
    async with running_service(
        create_app,
        database="gateway_identity",
        transport=InMemoryTransport(retry_delays=[0.01]),
        settings=identity_settings(),
    ) as service:
        yield service


def gateway_client(identity: RunningService, **settings) -> httpx.AsyncClient:
    gateway_settings = GatewaySettings(**settings)
    gateway = create_gateway(gateway_settings, in_process_upstreams({"identity": identity.app}, gateway_settings))
    transport = httpx.ASGITransport(app=gateway, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://gateway")


async def test_chunked_body_over_limit_413(identity):
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"display_name": "'
        for _ in range(5):
            yield b"x" * 1000
        yield b'"}'

    async with gateway_client(identity, max_body_bytes=1000) as client:
        response = await client.post(
            "/api/identity/users", content=chunks(), headers={"Content-Type": "application/json"}
        )

    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "The request body exceeds the limit of 1000 bytes"


async def test_chunked_body_within_limit_forwarded(identity):
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"username": "nobody", '
        yield b'"password": "wrong-password-1"}'

    async with gateway_client(identity, max_body_bytes=1000) as client:
        response = await client.post(
            "/api/identity/sessions", content=chunks(), headers={"Content-Type": "application/json"}
        )

    assert response.status_code == 401


async def test_slow_service_504(identity):
    # Sign-in reads the users table, so it waits for this lock until the test releases it.
    async with identity.runtime.engine.connect() as connection:
        await connection.execute(text("LOCK TABLE users IN ACCESS EXCLUSIVE MODE"))
        try:
            async with gateway_client(identity, read_timeout=0.5) as client:
                response = await asyncio.wait_for(
                    client.post("/api/identity/sessions", json={"username": "nobody", "password": "x" * 12}),
                    timeout=20,
                )
        finally:
            await connection.rollback()

    assert response.status_code == 504
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "The identity service timed out before it sent a response"


async def test_problem_instance_is_gateway_path(identity):
    async with gateway_client(identity) as client:
        unauthorised = await client.get("/api/identity/users/me")
        invalid = await client.post("/api/identity/users", json={})
        missing = await client.get("/api/identity/no-such-route")
        forged = await client.get("/api/identity/users/me", headers={"X-Forwarded-Prefix": "/elsewhere"})

    assert unauthorised.status_code == 401
    assert unauthorised.json()["instance"] == "/api/identity/users/me"
    assert invalid.status_code == 422
    assert invalid.json()["instance"] == "/api/identity/users"
    assert missing.status_code == 404
    assert missing.json()["instance"] == "/api/identity/no-such-route"
    assert missing.json()["detail"] == "GET /api/identity/no-such-route: Not Found"
    assert forged.json()["instance"] == "/api/identity/users/me"


async def test_problem_instance_without_gateway(identity):
    direct = await identity.client.get("/users/me")
    malformed = await identity.client.get("/users/me", headers={"X-Forwarded-Prefix": "/api/x y"})

    assert direct.json()["instance"] == "/users/me"
    assert malformed.json()["instance"] == "/users/me"


async def test_invitation_preview_needs_no_sign_in(identity):
    # The gateway forwards every /api/identity path as it is and checks no sign-in itself,
    # so the preview reaches identity with or without an Authorization header.
    driver = Identity(service=identity, clock=None)
    admin = await driver.admin()
    async with gateway_client(identity) as client:
        org = await client.post(
            "/api/identity/organisations", json={"namespace": "gateco", "display_name": "Gate Co"}, headers=bearer(admin)
        )
        invited = await client.post(
            f"/api/identity/organisations/{org.json()['id']}/invitations",
            json={"email": "guest@example.com", "role": "viewer"},
            headers=bearer(admin),
        )
        token = token_of((await driver.events("identity.invitation.created"))[-1]["link"])
        preview = await client.get(f"/api/identity/invitations/{token}")
        signed_in = await client.get(f"/api/identity/invitations/{token}", headers=bearer(admin))
        unknown = await client.get("/api/identity/invitations/wharf_inv_unknown")

    assert org.status_code == 201, org.text
    assert invited.status_code == 201, invited.text
    assert preview.status_code == 200, preview.text
    assert preview.json()["organisation_name"] == "Gate Co"
    assert preview.headers["cache-control"] == "no-store"
    assert preview.json()["addressed_to_you"] is None
    # The gateway passes the Authorization header on, so identity checks the caller's token.
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["addressed_to_you"] is False
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
