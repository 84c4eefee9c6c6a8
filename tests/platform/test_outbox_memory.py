"""The outbox, inbox and in-memory bus on a real PostgreSQL."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from shared.events.memory import InMemoryTransport
from tests.platform.sample import app as sample
from tests.support.services import running_service


async def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.05)


async def count(service, table, *where) -> int:
    async with service.runtime.sessionmaker() as session:
        return (await session.execute(select(func.count()).select_from(table).where(*where))).scalar()


async def test_event_delivered_after_commit():
    transport = InMemoryTransport(retry_delays=[0.01])
    async with running_service(sample.create_app, database="sample", transport=transport) as service:
        response = await service.client.post("/notes", json={"text": "hello"})
        assert response.status_code == 201

        outbox = service.runtime.metadata.tables["outbox"]
        await wait_for(lambda: count(service, sample.seen))
        assert await count(service, outbox, outbox.c.sent_at.is_(None)) == 0
        assert await count(service, outbox) == 1


async def test_rolled_back_request_emits_nothing():
    transport = InMemoryTransport(retry_delays=[0.01])
    async with running_service(sample.create_app, database="sample", transport=transport) as service:
        response = await service.client.post("/notes", json={"text": "fail-after-emit"})
        assert response.status_code == 500

        outbox = service.runtime.metadata.tables["outbox"]
        assert await count(service, outbox) == 0
        assert await count(service, sample.notes) == 0


async def test_transient_failure_retried_once_effect():
    transport = InMemoryTransport(retry_delays=[0.01, 0.01])
    sample.FAILURES["remaining"] = 1
    async with running_service(sample.create_app, database="sample", transport=transport) as service:
        await service.client.post("/notes", json={"text": "retry me"})
        await wait_for(lambda: count(service, sample.seen))

        times = (await _seen_times(service))
        assert times == [1]
        assert transport.dead_letters == []


async def test_failing_handler_dead_lettered_with_error():
    transport = InMemoryTransport(retry_delays=[0.01, 0.01])
    async with running_service(sample.create_app, database="sample", transport=transport) as service:
        await service.client.post("/notes", json={"text": "always-fail-1"})
        await wait_for(lambda: _has_dead_letters(transport))

        letter = transport.dead_letters[0]
        assert letter.attempts == 3
        assert "handler refuses note" in letter.error
        assert await count(service, sample.seen) == 0


async def test_idempotency_key_replays_first_response():
    transport = InMemoryTransport(retry_delays=[0.01])
    async with running_service(sample.create_app, database="sample", transport=transport) as service:
        headers = {"Idempotency-Key": "note-once"}
        first = await service.client.post("/notes", json={"text": "once"}, headers=headers)
        second = await service.client.post("/notes", json={"text": "once"}, headers=headers)
        different = await service.client.post("/notes", json={"text": "other"}, headers=headers)

        assert first.status_code == 201
        assert second.status_code == 201
        assert second.json() == first.json()
        assert second.headers["idempotent-replayed"] == "true"
        assert different.status_code == 422
        assert "note-once" in different.json()["detail"]
        assert await count(service, sample.notes) == 1


async def _seen_times(service):
    async with service.runtime.sessionmaker() as session:
        return list((await session.execute(select(sample.seen.c.times))).scalars())


async def _has_dead_letters(transport) -> bool:
    return bool(transport.dead_letters)


async def test_correlation_id_carried_into_event():
    transport = InMemoryTransport(retry_delays=[0.01])
    async with running_service(sample.create_app, database="sample", transport=transport) as service:
        response = await service.client.post(
            "/notes", json={"text": "correlated"}, headers={"X-Correlation-ID": "journey-42"}
        )
        outbox = service.runtime.metadata.tables["outbox"]
        async with service.runtime.sessionmaker() as session:
            envelope = (await session.execute(select(outbox.c.envelope))).scalar_one()

    assert response.headers["x-correlation-id"] == "journey-42"
    assert envelope["correlation_id"] == "journey-42"
    assert envelope["producer"] == "sample"
    assert envelope["type"] == "sample.note.created"
