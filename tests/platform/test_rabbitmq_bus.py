"""The outbox relay and the RabbitMQ bus on the real broker and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid

import aio_pika
import pytest
from sqlalchemy import select

from shared.events.envelope import new_envelope
from shared.events.outbox import OutboxRelay
from shared.events.rabbitmq import RabbitMQTransport, dead_queue
from tests.platform.sample import app as sample
from tests.platform.test_outbox_memory import count, wait_for
from tests.support.environment import AMQP_URL
from tests.support.services import running_service


@pytest.fixture
async def broker_names():
    """A private exchange and queue prefix per test, deleted afterwards."""
    suffix = uuid.uuid4().hex[:8]
    names = {"exchange": f"wharf-test-{suffix}", "queue_prefix": f"wharf-test-{suffix}"}
    yield names
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        await channel.exchange_delete(names["exchange"])
        for suffix_name in ("", ".retry.0", ".retry.1", ".dead", ".probe"):
            channel = await connection.channel()
            await channel.queue_delete(f"{names['queue_prefix']}.sample{suffix_name}")


def rabbit(names, **options) -> RabbitMQTransport:
    options.setdefault("retry_delays", [0.05, 0.1])
    return RabbitMQTransport(AMQP_URL, **names, **options)


async def probe_queue(names):
    """A queue bound to the sample event, to count what reaches the broker."""
    connection = await aio_pika.connect(AMQP_URL)
    channel = await connection.channel()
    exchange = await channel.declare_exchange(names["exchange"], aio_pika.ExchangeType.TOPIC, durable=True)
    queue = await channel.declare_queue(f"{names['queue_prefix']}.sample.probe", durable=True)
    await queue.bind(exchange, routing_key="sample.note.created")
    return connection, queue


async def drain(queue, *, quiet_seconds: float = 0.5) -> list[dict]:
    bodies = []
    while True:
        message = await queue.get(no_ack=True, fail=False, timeout=5)
        if message is None:
            await asyncio.sleep(quiet_seconds)
            message = await queue.get(no_ack=True, fail=False, timeout=5)
            if message is None:
                return bodies
        bodies.append(json.loads(message.body))


async def test_broker_outage_delays_events_loses_none(broker_names):
    dead_broker = RabbitMQTransport("amqp://guest:guest@127.0.0.1:9/", connect_timeout=1, **broker_names)
    async with running_service(
        sample.create_app, database="sample", transport=dead_broker, wait_subscribed=False
    ) as service:
        for index in range(3):
            response = await service.client.post("/notes", json={"text": f"outage {index}"})
            assert response.status_code == 201

        outbox = service.runtime.metadata.tables["outbox"]
        await wait_for(lambda: _attempted(service, outbox))
        assert await count(service, outbox, outbox.c.sent_at.is_(None)) == 3

        real_broker = rabbit(broker_names)
        await real_broker.start()
        connection, probe = await probe_queue(broker_names)
        try:
            service.runtime.relay.transport = real_broker
            await wait_for(lambda: _all_sent(service, outbox), timeout=60)
            received = await drain(probe)
        finally:
            await connection.close()
            await real_broker.stop()

        assert sorted(body["data"]["text"] for body in received) == ["outage 0", "outage 1", "outage 2"]


async def test_two_relays_publish_each_row_once(broker_names):
    transport = rabbit(broker_names)
    await transport.start()
    connection, probe = await probe_queue(broker_names)
    try:
        async with running_service(
            sample.create_app, database="sample", transport=transport, relay=False
        ) as service:
            for index in range(60):
                await service.client.post("/notes", json={"text": f"row {index}"})

            relays = [
                OutboxRelay(
                    service="sample",
                    sessionmaker=service.runtime.sessionmaker,
                    outbox=service.runtime.metadata.tables["outbox"],
                    transport=transport,
                    clock=service.runtime.clock,
                    database_url=service.runtime.database_url,
                    batch_size=7,
                    poll_interval=0.1,
                )
                for _ in range(2)
            ]
            tasks = [asyncio.create_task(relay.run()) for relay in relays]
            outbox = service.runtime.metadata.tables["outbox"]
            await wait_for(lambda: _all_sent(service, outbox), timeout=60)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            received = await drain(probe)
    finally:
        await connection.close()
        await transport.stop()

    ids = [body["id"] for body in received]
    assert len(ids) == 60
    assert len(set(ids)) == 60


async def test_redelivered_event_has_one_effect(broker_names):
    transport = rabbit(broker_names)
    await transport.start()
    try:
        async with running_service(sample.create_app, database="sample", transport=transport) as service:
            envelope = _note_event(service, "delivered twice")
            await transport.publish(envelope)
            await transport.publish(envelope)
            await wait_for(lambda: _inbox_has(service, envelope.id))
            await asyncio.sleep(0.5)

            async with service.runtime.sessionmaker() as session:
                times = (await session.execute(select(sample.seen.c.times))).scalars().all()
            assert times == [1]
    finally:
        await transport.stop()


async def test_failing_handler_ends_in_dead_letter_queue(broker_names):
    transport = rabbit(broker_names)
    await transport.start()
    try:
        async with running_service(sample.create_app, database="sample", transport=transport):
            envelope = _note_event(None, "always-fail here")
            await transport.publish(envelope)
            letters = await _wait_dead_letters(transport)
    finally:
        await transport.stop()

    assert len(letters) == 1
    assert letters[0].body["id"] == str(envelope.id)
    assert letters[0].attempts == 3
    assert "handler refuses note" in letters[0].error


async def test_invalid_event_dead_lettered_with_reason(broker_names):
    transport = rabbit(broker_names)
    await transport.start()
    try:
        async with running_service(sample.create_app, database="sample", transport=transport) as service:
            envelope = _note_event(None, "bad data")
            broken = envelope.model_copy(update={"data": {"note_id": "not-a-uuid"}})
            await transport.publish(broken)
            letters = await _wait_dead_letters(transport)
            assert await count(service, sample.seen) == 0
    finally:
        await transport.stop()

    assert len(letters) == 1
    assert "invalid data for sample.note.created" in letters[0].error
    assert "note_id" in letters[0].error
    assert "text" in letters[0].error


async def test_dead_letter_replay_handles_again(broker_names):
    transport = rabbit(broker_names)
    await transport.start()
    try:
        async with running_service(sample.create_app, database="sample", transport=transport) as service:
            sample.FAILURES["remaining"] = 3  # the first delivery and both retries fail
            envelope = _note_event(None, "replay me")
            await transport.publish(envelope)
            await _wait_dead_letters(transport)

            replayed = await transport.replay_dead_letters("sample")
            await wait_for(lambda: _inbox_has(service, envelope.id))

            assert replayed == 1
            assert await transport.list_dead_letters("sample") == []
            assert await count(service, sample.seen) == 1
    finally:
        sample.FAILURES["remaining"] = 0
        await transport.stop()


def _note_event(service, text: str):
    note_id = uuid.uuid4()
    from datetime import UTC, datetime

    return new_envelope(
        type="sample.note.created",
        version=1,
        occurred_at=datetime.now(UTC),
        producer="sample",
        subject=str(note_id),
        data={"note_id": str(note_id), "text": text},
        correlation_id=None,
        causation_id=None,
    )


async def _wait_dead_letters(transport, timeout: float = 30.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        letters = await transport.list_dead_letters("sample")
        if letters:
            return letters
        await asyncio.sleep(0.2)
    raise AssertionError(f"nothing reached {dead_queue('sample', transport.queue_prefix)}")


async def _attempted(service, outbox) -> bool:
    return await count(service, outbox, outbox.c.attempts > 0) > 0


async def _all_sent(service, outbox) -> bool:
    return await count(service, outbox, outbox.c.sent_at.is_(None)) == 0


async def _inbox_has(service, event_id) -> bool:
    inbox = service.runtime.metadata.tables["inbox"]
    return await count(service, inbox, inbox.c.event_id == event_id) == 1
