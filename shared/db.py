"""Database engine, per-request sessions, and the tables every service database carries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def make_metadata() -> MetaData:
    """Create a service's metadata, with the outbox, inbox and idempotency tables on it."""
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    define_platform_tables(metadata)
    return metadata


def define_platform_tables(metadata: MetaData) -> None:
    Table(
        "outbox",
        metadata,
        Column("id", UUID(as_uuid=True), primary_key=True),
        # Insertion order: rows of one transaction share a timestamp, and tests freeze time.
        Column("seq", BigInteger, Identity(), nullable=False, unique=True),
        Column("type", String(200), nullable=False),
        Column("subject", String(200), nullable=False),
        Column("envelope", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("sent_at", DateTime(timezone=True)),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("last_error", Text),
        Index("ix_outbox_unsent", "seq", postgresql_where=text("sent_at IS NULL")),
    )
    Table(
        "inbox",
        metadata,
        Column("event_id", UUID(as_uuid=True), primary_key=True),
        Column("type", String(200), nullable=False),
        Column("handled_at", DateTime(timezone=True), nullable=False),
    )
    Table(
        "idempotency_keys",
        metadata,
        Column("scope", String(200), primary_key=True),
        Column("key", String(200), primary_key=True),
        Column("fingerprint", String(64), nullable=False),
        Column("status_code", Integer, nullable=False),
        Column("response", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
    )


def create_engine(url: str, *, pool_size: int = 5) -> AsyncEngine:
    return create_async_engine(url, pool_size=pool_size, max_overflow=10, pool_pre_ping=True)


def create_read_engine(url: str, *, pool_size: int = 5) -> AsyncEngine:
    """Return an engine for read-only routes: no transactions, and writes refused by the server.

    Without a transaction a route's statement is one round trip, where a transaction
    adds BEGIN and COMMIT, and the pool's check of a connection takes one round trip
    instead of three (BEGIN, the check and ROLLBACK). Each statement still reads one
    consistent snapshot.
    """
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=10,
        pool_pre_ping=True,
        isolation_level="AUTOCOMMIT",
        connect_args={"server_settings": {"default_transaction_read_only": "on"}},
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """Give a route one session whose transaction commits on success and rolls back on error.

    Domain code flushes but never commits: the request owns the transaction, so a state
    change and the events it writes to the outbox land together or not at all.
    """
    sessionmaker = request.app.state.runtime.sessionmaker
    async with sessionmaker() as session:
        async with session.begin():
            yield session


# The session ends with the route function, before the response is sent: the commit must
# succeed before a client learns of success, and a client that acts at once must find
# the write committed. FastAPI's default scope ("request") would commit after sending.
SessionDep = Annotated[AsyncSession, Depends(request_session, scope="function")]


async def read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """Give a read-only route a session on the read engine, where each statement runs in its own transaction."""
    async with request.app.state.runtime.read_sessionmaker() as session:
        yield session


ReadSessionDep = Annotated[AsyncSession, Depends(read_session, scope="function")]


async def ensure_database(database_url: str, *, recreate: bool = False) -> None:
    """Create the database named in `database_url` if missing (drop it first if `recreate`)."""
    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    name = url.database
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    connection = await asyncpg.connect(admin)
    try:
        if recreate:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            # Identifiers cannot be bound as parameters; service names are our own constants.
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
