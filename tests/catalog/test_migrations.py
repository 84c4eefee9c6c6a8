"""The migrations build exactly the tables the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from services.catalog.models import Base


def _differences(connection) -> list:
    context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": False})
    return compare_metadata(context, Base.metadata)


async def test_migrations_match_models(catalog):
    async with catalog.runtime.engine.connect() as connection:
        differences = await connection.run_sync(_differences)

    assert differences == []


async def test_database_plans_each_statement(catalog):
    async with catalog.runtime.engine.connect() as connection:
        mode = (await connection.execute(text("SHOW plan_cache_mode"))).scalar()

    assert mode == "force_custom_plan"
