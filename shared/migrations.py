"""Alembic helpers: each service keeps its own migrations folder and version table."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.operations import Operations
from sqlalchemy import MetaData, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import async_engine_from_config


def alembic_config(migrations_dir: Path, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    # ConfigParser interpolation would read "%" in URL-encoded passwords as a directive.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(migrations_dir: Path, database_url: str, revision: str = "head") -> None:
    """Apply a service's migrations (blocking: call it from a thread in async code)."""
    command.upgrade(alembic_config(migrations_dir, database_url), revision)


async def upgrade_async(migrations_dir: Path, database_url: str) -> None:
    await asyncio.to_thread(upgrade, migrations_dir, database_url)


def run_env(context, target_metadata: MetaData) -> None:
    """Body of a service's migrations/env.py: online migrations over asyncpg."""

    def do_run(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = async_engine_from_config(
            context.config.get_section(context.config.config_ini_section, {}),
            prefix="sqlalchemy.",
            poolclass=pool.NullPool,
        )
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
        await engine.dispose()

    asyncio.run(run_async())


def create_platform_tables(op: Operations, metadata: MetaData) -> None:
    """Create the outbox, inbox and idempotency tables in a service's first revision."""
    bind = op.get_bind()
    for name in ("outbox", "inbox", "idempotency_keys"):
        metadata.tables[name].create(bind)
