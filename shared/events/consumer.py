"""A service's event handlers, applied once per event through the inbox table."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy import MetaData
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.clock import Clock
from shared.context import bind_ids
from shared.events.envelope import Envelope
from shared.events.schemas import EventData, UnknownEventType, validate_data
from shared.metrics import EVENTS_HANDLED

Handler = Callable[[AsyncSession, Envelope, EventData], Awaitable[None]]

log = structlog.get_logger()


class InvalidEvent(Exception):
    """A message that can never be handled: retrying is pointless, so it is dead-lettered."""


class Consumer:
    def __init__(
        self,
        *,
        service: str,
        sessionmaker: async_sessionmaker[AsyncSession],
        metadata: MetaData,
        handlers: Mapping[str, Handler],
        clock: Clock,
    ) -> None:
        self.service = service
        self.sessionmaker = sessionmaker
        self.inbox = metadata.tables["inbox"]
        self.handlers = dict(handlers)
        self.clock = clock

    @property
    def event_types(self) -> list[str]:
        return sorted(self.handlers)

    def parse(self, body: bytes | str | dict[str, Any]) -> tuple[Envelope, EventData]:
        """Parse and validate a message, raising InvalidEvent with the reason."""
        try:
            raw = body if isinstance(body, dict) else json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidEvent(f"message body is not JSON: {exc}") from exc
        try:
            envelope = Envelope.model_validate(raw)
        except ValidationError as exc:
            raise InvalidEvent(f"invalid envelope: {_summarise(exc)}") from exc
        try:
            data = validate_data(envelope.type, envelope.data)
        except UnknownEventType as exc:
            raise InvalidEvent(str(exc)) from exc
        except ValidationError as exc:
            raise InvalidEvent(f"invalid data for {envelope.type}: {_summarise(exc)}") from exc
        return envelope, data

    async def handle(self, body: bytes | str | dict[str, Any]) -> str:
        """Apply the handler for one message; return "handled", "duplicate" or "ignored".

        The inbox row and the handler's effects commit in one transaction, so a
        redelivered event finds its id already recorded and has no second effect.
        """
        envelope, data = self.parse(body)
        handler = self.handlers.get(envelope.type)
        if handler is None:
            return "ignored"

        bind_ids(correlation_id=envelope.correlation_id, event_id=str(envelope.id))
        async with self.sessionmaker() as session, session.begin():
            inserted = await session.execute(
                insert(self.inbox)
                .values(event_id=envelope.id, type=envelope.type, handled_at=self.clock.now())
                .on_conflict_do_nothing(index_elements=["event_id"])
                .returning(self.inbox.c.event_id)
            )
            if inserted.first() is None:
                EVENTS_HANDLED.labels(self.service, envelope.type, "duplicate").inc()
                log.info("event.duplicate", service=self.service, event_type=envelope.type)
                return "duplicate"

            await handler(session, envelope, data)

        EVENTS_HANDLED.labels(self.service, envelope.type, "handled").inc()
        log.info("event.handled", service=self.service, event_type=envelope.type)
        return "handled"


def _summarise(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        location = ".".join(str(part) for part in error.get("loc", ())) or "(root)"
        parts.append(f"{location}: {error.get('msg')}")
    return "; ".join(parts)
