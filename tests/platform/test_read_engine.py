"""The read engine of read-only routes: no transactions, and the server refuses writes."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shared.events.memory import InMemoryTransport
from tests.platform.sample import app as sample
from tests.support.services import running_service


async def test_read_session_rejects_writes():
    async with running_service(sample.create_app, database="sample", transport=InMemoryTransport()) as service:
        created = await service.client.post("/notes", json={"text": "visible to readers"})
        assert created.status_code == 201, created.text

        async with service.runtime.read_sessionmaker() as session:
            texts = (await session.execute(text("SELECT text FROM notes"))).scalars().all()
            with pytest.raises(DBAPIError, match="read-only transaction"):
                await session.execute(
                    text("INSERT INTO notes (id, text, created_at) VALUES (gen_random_uuid(), 'x', now())")
                )
            first = (await session.execute(text("SELECT transaction_timestamp()"))).scalar()
            second = (await session.execute(text("SELECT transaction_timestamp() FROM pg_sleep(0.01)"))).scalar()

    assert "visible to readers" in texts
    # Each statement runs on its own: within one transaction both would show its start.
    assert second > first
