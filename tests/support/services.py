"""Run a real service app, with its lifespan, against a fresh database."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import asyncpg
import httpx
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from shared.db import ensure_database
from shared.migrations import upgrade_async
from shared.service import Runtime, ServiceSpec
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


test_platform.__test__ = False  # modules that import it must not collect it as a test


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
    options.setdefault("platform", test_platform())
    app = create_app(database_url=url, **options)
    if recreate:
        await clone_migrated_template(url, app.state.runtime.spec)
    else:
        await ensure_database(url)
    async with app.router.lifespan_context(app):
        if wait_subscribed:
            await asyncio.wait_for(app.state.runtime.subscribed.wait(), timeout=30)
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield RunningService(app=app, client=client)


# Template databases migrated in this test session, by name.
_migrated_templates: set[str] = set()


async def clone_migrated_template(url: str, spec: ServiceSpec) -> None:
    """Recreate the database at `url` as a copy of a template migrated once per session.

    Copying a template takes a fraction of a second, where running a service's
    migrations takes seconds; the app still runs its migrations on start, which then
    finds nothing to do. Database-level settings (ALTER DATABASE ... SET) are not part of
    a template copy, so they are copied over explicitly.
    """
    target = make_url(url)
    template = target.set(database=f"{target.database}__template")
    template_url = template.render_as_string(hide_password=False)
    key = f"{template.database}:{spec.migrations_dir}"
    if key not in _migrated_templates:
        await ensure_database(template_url, recreate=True)
        await upgrade_async(spec.migrations_dir, template_url)
        _migrated_templates.add(key)

    admin_url = target.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{target.database}" TEMPLATE "{template.database}"')
        settings = await connection.fetch(
            """
            SELECT unnest(s.setconfig) AS setting
            FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
            WHERE d.datname = $1 AND s.setrole = 0
            """,
            template.database,
        )
        for row in settings:
            name, _, value = row["setting"].partition("=")
            await connection.execute(f'ALTER DATABASE "{target.database}" SET {name} = \'{value}\'')
    finally:
        await connection.close()
