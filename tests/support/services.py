"""Run a real service app, with its lifespan, against a fresh database."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
from fastapi import FastAPI

from shared.db import ensure_database
from shared.service import Runtime
from shared.settings import PlatformSettings
from tests.support.environment import database_url


@dataclass
class RunningService:
    app: FastAPI
    client: httpx.AsyncClient

    @property
    def runtime(self) -> Runtime:
        return self.app.state.runtime


def test_platform(**overrides) -> PlatformSettings:
    """Platform settings for tests: fast polling and short retry delays."""
    values = {"outbox_poll_interval": 0.2, "retry_delays": [0.05, 0.1], "log_json": False}
    values.update(overrides)
    return PlatformSettings(**values)


@contextlib.asynccontextmanager
async def running_service(
    create_app: Callable[..., FastAPI],
    *,
    database: str,
    recreate: bool = True,
    wait_subscribed: bool = True,
    **options,
) -> AsyncIterator[RunningService]:
    """Start `create_app(...)` on the test database `database`, recreated unless told not to.

    Waits until the service's consumer is subscribed, so events published by the test
    reach it; pass `wait_subscribed=False` when the broker is meant to be unreachable.
    """
    url = database_url(database)
    await ensure_database(url, recreate=recreate)
    options.setdefault("platform", test_platform())
    app = create_app(database_url=url, **options)
    async with app.router.lifespan_context(app):
        if wait_subscribed:
            await asyncio.wait_for(app.state.runtime.subscribed.wait(), timeout=30)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield RunningService(app=app, client=client)
