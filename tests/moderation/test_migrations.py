"""The migrations build exactly the tables the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.moderation.models import Base


def _differences(connection) -> list:
    context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": False})
    return compare_metadata(context, Base.metadata)


async def test_migrations_match_models(stage):
    async with stage.runtime.engine.connect() as connection:
        differences = await connection.run_sync(_differences)

    assert differences == []
