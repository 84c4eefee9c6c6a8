"""One running catalog for the suite, on a real PostgreSQL, with an in-memory bus and a token issuer."""

from __future__ import annotations

import uuid

import pytest

from services.catalog.app import create_app
from services.catalog.settings import CatalogSettings
from shared.events.memory import InMemoryTransport
from tests.catalog.support import STAFF, Publisher
from tests.support.services import running_service
from tests.support.tokens import TokenIssuer


@pytest.fixture(scope="session")
def issuer() -> TokenIssuer:
    return TokenIssuer()


async def _start(database: str, issuer: TokenIssuer, media_dir):
    # Facet counts are cached for 0 s, so each search returns the changes the test just made.
    settings = CatalogSettings(
        media_dir=str(media_dir), max_image_bytes=2 * 1024 * 1024, max_image_pixels=16_000_000, facet_cache_seconds=0
    )
    transport = InMemoryTransport(retry_delays=[0.01])
    return running_service(create_app, database=database, transport=transport, settings=settings)


@pytest.fixture(scope="session")
async def catalog(issuer, tmp_path_factory):
    """The catalog for tests that each work in their own organisations."""
    async with await _start("catalog", issuer, tmp_path_factory.mktemp("media")) as service:
        issuer.install(service.runtime.state["jwks"])
        service.runtime.state["test_issuer"] = issuer
        yield service


@pytest.fixture
def publisher(catalog, issuer) -> Publisher:
    return Publisher(service=catalog, issuer=issuer, namespace=f"acme{uuid.uuid4().hex[:8]}")


@pytest.fixture
def rival(catalog, issuer) -> Publisher:
    return Publisher(service=catalog, issuer=issuer, namespace=f"rival{uuid.uuid4().hex[:8]}")


@pytest.fixture
def staff_headers(issuer) -> dict[str, str]:
    return issuer.headers(STAFF)
