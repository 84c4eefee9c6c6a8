"""The billing migrations create exactly the tables and columns the models declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.billing.app import create_app
from services.billing.models import Base
from tests.support.services import running_service


async def test_migrations_match_models():
    async with running_service(create_app, database="billing") as service:
        async with service.runtime.engine.connect() as connection:
            differences = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )

    assert differences == []
