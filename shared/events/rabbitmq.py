"""RabbitMQ bus with aio-pika: one durable topic exchange, a queue per consuming service.

Topology for a service `catalog` consuming some event types:

    wharf.events (topic)  --type-->  wharf.catalog            main queue
    wharf.catalog.retry.N  (TTL = N-th delay, dead-letters back to wharf.catalog)
    wharf.catalog.dead     messages that failed every attempt or never validated

A failed delivery is republished to the next retry queue with its attempt count and
error in headers, then acknowledged. After the last retry it goes to the dead queue.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from shared.events.bus import DeadLetter
from shared.events.consumer import Consumer, InvalidEvent
from shared.events.envelope import Envelope
from shared.metrics import EVENTS_HANDLED

log = structlog.get_logger()

EXCHANGE = "wharf.events"
ATTEMPT_HEADER = "x-wharf-attempt"
ERROR_HEADER = "x-wharf-error"
DEAD_AT_HEADER = "x-wharf-dead-lettered-at"


def main_queue(service: str, prefix: str = "wharf") -> str:
    return f"{prefix}.{service}"


def retry_queue(service: str, index: int, prefix: str = "wharf") -> str:
    return f"{prefix}.{service}.retry.{index}"


def dead_queue(service: str, prefix: str = "wharf") -> str:
    return f"{prefix}.{service}.dead"


class RabbitMQTransport:
    def __init__(
        self,
        url: str,
        *,
        retry_delays: list[float] | tuple[float, ...] = (1.0, 5.0, 30.0),
        prefetch: int = 20,
        exchange: str = EXCHANGE,
        queue_prefix: str = "wharf",
        connect_timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.retry_delays = list(retry_delays)
        self.prefetch = prefetch
        self.exchange_name = exchange
        # Separate prefixes keep test runs (or tenants of one broker) apart.
        self.queue_prefix = queue_prefix
        self.connect_timeout = connect_timeout
        self._connection: AbstractRobustConnection | None = None
        self._publish_channel: aio_pika.abc.AbstractChannel | None = None
        self._exchange: aio_pika.abc.AbstractExchange | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        await self._ensure_connected()

    async def stop(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None
            self._exchange = None

    async def ping(self) -> bool:
        return self._connection is not None and not self._connection.is_closed

    async def _ensure_connected(self) -> aio_pika.abc.AbstractExchange:
        async with self._lock:
            if self._exchange is not None and not self._connection.is_closed:
                return self._exchange
            self._connection = await aio_pika.connect_robust(self.url, timeout=self.connect_timeout)
            # Publisher confirms: publish() returns only after the broker has the message.
            self._publish_channel = await self._connection.channel(publisher_confirms=True)
            self._exchange = await self._publish_channel.declare_exchange(
                self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
            )
            return self._exchange

    async def publish(self, envelope: Envelope) -> None:
        exchange = await self._ensure_connected()
        message = aio_pika.Message(
            body=envelope.model_dump_json().encode(),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=str(envelope.id),
            type=envelope.type,
            correlation_id=envelope.correlation_id,
            timestamp=envelope.occurred_at,
        )
        await exchange.publish(message, routing_key=envelope.type, timeout=self.connect_timeout)

    async def declare_service_queues(self, channel, service: str, event_types: list[str]):
        exchange = await channel.declare_exchange(
            self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(main_queue(service, self.queue_prefix), durable=True)
        for event_type in event_types:
            await queue.bind(exchange, routing_key=event_type)
        for index, delay in enumerate(self.retry_delays):
            await channel.declare_queue(
                retry_queue(service, index, self.queue_prefix),
                durable=True,
                arguments={
                    "x-message-ttl": int(delay * 1000),
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": main_queue(service, self.queue_prefix),
                },
            )
        await channel.declare_queue(dead_queue(service, self.queue_prefix), durable=True)
        return queue

    async def subscribe(self, consumer: Consumer) -> None:
        await self._ensure_connected()
        channel = await self._connection.channel(publisher_confirms=True)
        await channel.set_qos(prefetch_count=self.prefetch)
        queue = await self.declare_service_queues(channel, consumer.service, consumer.event_types)

        async def on_message(message: AbstractIncomingMessage) -> None:
            await self._on_message(channel, consumer, message)

        await queue.consume(on_message)
        log.info("bus.subscribed", service=consumer.service, event_types=consumer.event_types)

    async def _on_message(self, channel, consumer: Consumer, message: AbstractIncomingMessage):
        attempt = int((message.headers or {}).get(ATTEMPT_HEADER, 1))
        event_type = message.type or "?"
        try:
            await consumer.handle(message.body)
        except InvalidEvent as exc:
            await self._dead_letter(channel, consumer.service, message, f"invalid event: {exc}", attempt)
        except Exception as exc:
            if attempt > len(self.retry_delays):
                await self._dead_letter(channel, consumer.service, message, repr(exc), attempt)
            else:
                EVENTS_HANDLED.labels(consumer.service, event_type, "retried").inc()
                log.warning(
                    "event.retry",
                    service=consumer.service,
                    event_id=message.message_id,
                    event_type=event_type,
                    attempt=attempt,
                    retry_in=self.retry_delays[attempt - 1],
                    error=repr(exc),
                )
                await self._republish(
                    channel,
                    message,
                    retry_queue(consumer.service, attempt - 1, self.queue_prefix),
                    {ATTEMPT_HEADER: attempt + 1, ERROR_HEADER: repr(exc)[:1000]},
                )
        # Acknowledge only after the message is handled or safely moved on; a crash
        # before this point redelivers it and the inbox makes that harmless.
        await message.ack()

    async def _dead_letter(self, channel, service, message, error: str, attempts: int) -> None:
        EVENTS_HANDLED.labels(service, message.type or "?", "dead_lettered").inc()
        log.error(
            "event.dead_lettered",
            service=service,
            event_id=message.message_id,
            event_type=message.type,
            attempts=attempts,
            error=error,
        )
        await self._republish(
            channel,
            message,
            dead_queue(service, self.queue_prefix),
            {
                ATTEMPT_HEADER: attempts,
                ERROR_HEADER: error[:2000],
                DEAD_AT_HEADER: datetime.now(UTC).isoformat(),
            },
        )

    @staticmethod
    async def _republish(channel, message, queue_name: str, headers: dict[str, Any]) -> None:
        copy = aio_pika.Message(
            body=message.body,
            content_type=message.content_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=message.message_id,
            type=message.type,
            correlation_id=message.correlation_id,
            headers={**(message.headers or {}), **headers},
        )
        await channel.default_exchange.publish(copy, routing_key=queue_name)

    # Dead-letter administration, used by `python -m wharf dlq`.

    async def list_dead_letters(self, service: str) -> list[DeadLetter]:
        await self._ensure_connected()
        channel = await self._connection.channel()
        try:
            queue = await channel.declare_queue(dead_queue(service, self.queue_prefix), durable=True)
            messages = []
            while (message := await queue.get(no_ack=False, fail=False)) is not None:
                messages.append(message)
            letters = [_to_dead_letter(service, message) for message in messages]
            # Unacknowledged gets go back to the queue, unchanged, when rejected.
            for message in messages:
                await message.nack(requeue=True)
            return letters
        finally:
            await channel.close()

    async def replay_dead_letters(self, service: str, message_id: str | None = None) -> int:
        """Move dead letters back to the service's main queue with a fresh attempt count."""
        await self._ensure_connected()
        channel = await self._connection.channel(publisher_confirms=True)
        replayed = 0
        try:
            queue = await channel.declare_queue(dead_queue(service, self.queue_prefix), durable=True)
            kept = []
            while (message := await queue.get(no_ack=False, fail=False)) is not None:
                if message_id is not None and message.message_id != message_id:
                    kept.append(message)
                    continue
                headers = {
                    k: v
                    for k, v in (message.headers or {}).items()
                    if k not in (ATTEMPT_HEADER, DEAD_AT_HEADER)
                }
                headers[ATTEMPT_HEADER] = 1
                copy = aio_pika.Message(
                    body=message.body,
                    content_type=message.content_type,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    message_id=message.message_id,
                    type=message.type,
                    correlation_id=message.correlation_id,
                    headers=headers,
                )
                await channel.default_exchange.publish(copy, routing_key=main_queue(service, self.queue_prefix))
                await message.ack()
                replayed += 1
            for message in kept:
                await message.nack(requeue=True)
            return replayed
        finally:
            await channel.close()


def _to_dead_letter(service: str, message: AbstractIncomingMessage) -> DeadLetter:
    headers = message.headers or {}
    try:
        body: dict | str = json.loads(message.body)
    except ValueError:
        body = message.body.decode("utf-8", "replace")
    dead_at = headers.get(DEAD_AT_HEADER)
    return DeadLetter(
        service=service,
        body=body,
        error=str(headers.get(ERROR_HEADER, "")),
        attempts=int(headers.get(ATTEMPT_HEADER, 0)),
        dead_lettered_at=datetime.fromisoformat(dead_at) if dead_at else datetime.now(UTC),
    )
