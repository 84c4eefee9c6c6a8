"""Fixtures for the vulnerability tests: a migrated database and the real OSV feeds.

The feeds are imported once per session and committed. Every test then runs inside a
transaction that is rolled back, so tests may change the database freely.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from services.scanning.app import SPEC
from services.scanning.vulns.feed_import import ImportReport, import_feed
from services.scanning.vulns.osv import FEED_DIR_VARIABLE, Feed, default_feed_dir
from shared.db import ensure_database
from shared.migrations import upgrade_async
from tests.support.environment import database_url

REAL_FEEDS = ("GHSA-subset", "PyPI", "Go")


@pytest.fixture(scope="session")
def feed_dir() -> Path:
    directory = default_feed_dir()
    missing = [name for name in REAL_FEEDS if not (directory / f"{name}.zip").is_file()]
    if missing:
        pytest.fail(
            f"OSV feeds {', '.join(missing)} not found in {directory}: set {FEED_DIR_VARIABLE} "
            "to the folder that contains PyPI.zip, Go.zip and GHSA-subset.zip"
        )
    return directory


@pytest.fixture(scope="session")
async def engine() -> AsyncIterator[AsyncEngine]:
    url = database_url("vulns")
    await ensure_database(url, recreate=True)
    await upgrade_async(SPEC.migrations_dir, url)
    engine = create_async_engine(url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def real_feeds(engine: AsyncEngine, feed_dir: Path) -> dict[str, ImportReport]:
    """Import the real PyPI, Go and GitHub feeds once, committed."""
    reports = {}
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        for name in REAL_FEEDS:
            feed = Feed(name=name, location=str(feed_dir / f"{name}.zip"))
            reports[name] = await import_feed(session, feed)
    return reports


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session whose work is rolled back after the test, commits included."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        session = AsyncSession(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            yield session
        finally:
            await session.close()
            await transaction.rollback()


@pytest.fixture
async def db(session: AsyncSession, real_feeds: dict[str, ImportReport]) -> AsyncSession:
    """A rolled-back session over a database that contains the real feeds."""
    return session
