"""In-process bus for the all-in-one mode and for tests.

Same contract as the RabbitMQ bus: `publish` returns only after every subscribed
consumer has handled the event (or it has been dead-lettered after its retries), so the
relay marks an outbox row sent only then.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import structlog

from shared.events.bus import DeadLetter
from shared.events.consumer import Consumer, InvalidEvent
from shared.events.envelope import Envelope
from shared.metrics import EVENTS_HANDLED

log = structlog.get_logger()


class InMemoryTransport:
    def __init__(self, *, retry_delays: list[float] | tuple[float, ...] = (0.5, 2.0, 5.0)) -> None:
        self.retry_delays = list(retry_delays)
        self.consumers: list[Consumer] = []
        # NOTE: dead letters of the in-memory bus live in this process only, so a restart
        # loses them. The RabbitMQ bus keeps them in a durable queue.
        self.dead_letters: list[DeadLetter] = []

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def ping(self) -> bool:
        return True

    async def subscribe(self, consumer: Consumer) -> None:
        self.consumers = [c for c in self.consumers if c.service != consumer.service]
        self.consumers.append(consumer)

    async def publish(self, envelope: Envelope) -> None:
        body = envelope.model_dump(mode="json")
        # Consumers run side by side, so one that is retrying does not hold up the rest.
        subscribed = [c for c in self.consumers if envelope.type in c.handlers]
        await asyncio.gather(*(self._deliver(consumer, body) for consumer in subscribed))

    async def _deliver(self, consumer: Consumer, body: dict) -> None:
        attempts = len(self.retry_delays) + 1
        for attempt in range(1, attempts + 1):
            try:
                await consumer.handle(body)
                return
            except InvalidEvent as exc:
                self._dead_letter(consumer, body, f"invalid event: {exc}", attempt)
                return
            except Exception as exc:
                if attempt == attempts:
                    self._dead_letter(consumer, body, repr(exc), attempt)
                    return
                delay = self.retry_delays[attempt - 1]
                EVENTS_HANDLED.labels(consumer.service, body.get("type", "?"), "retried").inc()
                log.warning(
                    "event.retry",
                    service=consumer.service,
                    event_id=body.get("id"),
                    event_type=body.get("type"),
                    attempt=attempt,
                    retry_in=delay,
                    error=repr(exc),
                )
                await asyncio.sleep(delay)

    async def replay(self, service: str) -> int:
        """Deliver this service's dead letters again; return how many were handled."""
        pending = [letter for letter in self.dead_letters if letter.service == service]
        self.dead_letters = [letter for letter in self.dead_letters if letter.service != service]
        consumer = next(c for c in self.consumers if c.service == service)
        for letter in pending:
            await self._deliver(consumer, letter.body)
        return len(pending) - sum(1 for d in self.dead_letters if d.service == service)

    def _dead_letter(self, consumer: Consumer, body: dict, error: str, attempts: int) -> None:
        EVENTS_HANDLED.labels(consumer.service, body.get("type", "?"), "dead_lettered").inc()
        log.error(
            "event.dead_lettered",
            service=consumer.service,
            event_id=body.get("id"),
            event_type=body.get("type"),
            attempts=attempts,
            error=error,
        )
        self.dead_letters.append(
            DeadLetter(
                service=consumer.service,
                body=body,
                error=error,
                attempts=attempts,
                dead_lettered_at=datetime.now(UTC),
            )
        )
