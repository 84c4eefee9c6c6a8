"""A running identity service on a fresh database, and helpers that drive it like a client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from sqlalchemy import select

from services.identity.app import create_app
from services.identity.settings import IdentitySettings
from shared.clock import FrozenClock
from shared.events.memory import InMemoryTransport
from tests.support.services import RunningService, running_service

ADMIN = {"username": "admin", "email": "admin@example.com", "password": "admin-password-1"}
INTERNAL_HEADERS = {"X-Wharf-Internal-Token": "development-internal-token"}


def identity_settings(**overrides) -> IdentitySettings:
    values = {
        "bootstrap_admin_username": ADMIN["username"],
        "bootstrap_admin_email": ADMIN["email"],
        "bootstrap_admin_password": ADMIN["password"],
        # The cheapest argon2id parameters keep the suite fast; production uses the defaults.
        "password_hash_time_cost": 1,
        "password_hash_memory_kib": 1024,
        "password_hash_parallelism": 1,
    }
    values.update(overrides)
    return IdentitySettings(**values)


@dataclass
class Identity:
    service: RunningService
    clock: FrozenClock

    @property
    def client(self) -> httpx.AsyncClient:
        return self.service.client

    @property
    def runtime(self):
        return self.service.runtime

    async def events(self, event_type: str) -> list[dict]:
        """Return the `data` of every outbox event of `event_type`, oldest first."""
        outbox = self.runtime.metadata.tables["outbox"]
        async with self.runtime.sessionmaker() as session:
            rows = (
                await session.execute(
                    select(outbox.c.envelope).where(outbox.c.type == event_type).order_by(outbox.c.created_at, outbox.c.seq)
                )
            ).scalars().all()
        return [row["data"] for row in rows]

    async def last_link_token(self, event_type: str, email: str) -> str:
        """Return the token of the newest link sent to `email` in an event of `event_type`."""
        links = [event["link"] for event in await self.events(event_type) if event["email"] == email]
        assert links, f"no {event_type} event for {email}"
        return token_of(links[-1])

    async def sign_up(self, username: str, *, email: str | None = None, password: str | None = None) -> dict:
        body = {
            "email": email or f"{username}@example.com",
            "username": username,
            "password": password or f"{username}-password-1",
            "display_name": username.title(),
        }
        response = await self.client.post("/users", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    async def verified_user(self, username: str, *, email: str | None = None) -> dict:
        """Sign up, follow the verification link, sign in; return the session with `password`."""
        email = email or f"{username}@example.com"
        password = f"{username}-password-1"
        await self.sign_up(username, email=email, password=password)
        token = await self.last_link_token("identity.user.verification_requested", email)
        verified = await self.client.get("/email/verify", params={"token": token})
        assert verified.status_code == 200, verified.text
        session = await self.login(username, password)
        return {**session, "password": password}

    async def login(self, username: str, password: str, *, address: str = "192.0.2.1") -> dict:
        response = await self.client.post(
            "/sessions", json={"username": username, "password": password}, headers={"X-Forwarded-For": address}
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def admin(self) -> dict:
        return await self.login(ADMIN["username"], ADMIN["password"])


def token_of(link: str) -> str:
    """Return the secret of a link: its `token` query value, or the invitation path segment."""
    parsed = urlparse(link)
    query = parse_qs(parsed.query)
    if "token" in query:
        return query["token"][0]
    return parsed.path.rstrip("/").split("/")[-2]


def bearer(session: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['access_token']}"}


@pytest.fixture
async def identity() -> AsyncIterator[Identity]:
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    async with running_service(
        create_app,
        database="identity",
        transport=InMemoryTransport(retry_delays=[0.01]),
        clock=clock,
        settings=identity_settings(),
    ) as service:
        yield Identity(service=service, clock=clock)
