"""A fresh moderation service per test, on a real PostgreSQL, with a frozen clock and in-memory bus.

The scheduler's background loop is off: tests run its passes themselves with the clock
where they want it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from services.identity.app import create_app as create_identity_app
from services.moderation.app import create_app
from services.moderation.settings import ModerationSettings
from shared.clock import FrozenClock
from shared.events.memory import InMemoryTransport
from tests.identity.conftest import identity_settings
from tests.moderation.support import Product, Publisher, Stage
from tests.support.services import RunningService, running_service
from tests.support.tokens import TokenIssuer

START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def issuer() -> TokenIssuer:
    return TokenIssuer()


def moderation_settings(**overrides) -> ModerationSettings:
    return ModerationSettings(scheduler_enabled=False, **overrides)


@pytest.fixture
async def stage(issuer):
    clock = FrozenClock(START)
    transport = InMemoryTransport(retry_delays=[0.01])
    async with running_service(
        create_app, database="moderation", transport=transport, clock=clock, settings=moderation_settings()
    ) as service:
        issuer.install(service.runtime.state["jwks"])
        yield Stage(service, clock, issuer)


@pytest.fixture
async def identity(stage) -> AsyncIterator[RunningService]:
    """The real identity service, which moderation calls for an assignee's staff roles."""
    async with running_service(
        create_identity_app,
        database="moderation_identity",
        transport=InMemoryTransport(retry_delays=[0.01]),
        settings=identity_settings(),
    ) as service:
        stage.runtime.state["internal_clients"] = {"identity": service.client}
        yield service


@pytest.fixture
def publisher() -> Publisher:
    return Publisher(namespace=f"acme{uuid.uuid4().hex[:8]}")


@pytest.fixture
def rival() -> Publisher:
    return Publisher(namespace=f"rival{uuid.uuid4().hex[:8]}")


@pytest.fixture
def product(publisher) -> Product:
    return Product(publisher=publisher)
