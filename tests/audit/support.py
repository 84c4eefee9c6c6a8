"""Helpers for audit tests: a running audit service on a frozen clock, and events to feed it."""

from __future__ import annotations

import contextlib
import types
import typing
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel

from services.audit.app import create_app
from services.audit.settings import AuditSettings
from shared.clock import FrozenClock
from shared.events.envelope import Envelope, new_envelope
from shared.events.memory import InMemoryTransport
from shared.events.schemas import EVENT_SCHEMAS, dump_data
from tests.support.services import RunningService, running_service
from tests.support.tokens import TestUser, TokenIssuer


def at(text: str) -> datetime:
    """Parse an ISO 8601 time written without offset as UTC."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@contextlib.asynccontextmanager
async def audit_service(
    *, clock: FrozenClock, database: str = "audit", **settings: Any
) -> AsyncIterator[tuple[RunningService, InMemoryTransport, TokenIssuer]]:
    """Start the audit service with its scheduler off and no report grace period, unless `settings` set them."""
    settings.setdefault("scheduler_enabled", False)
    settings.setdefault("report_grace_period", 0)
    transport = InMemoryTransport(retry_delays=[0.01])
    issuer = TokenIssuer()
    async with running_service(
        create_app,
        database=database,
        transport=transport,
        clock=clock,
        settings=AuditSettings(**settings),
    ) as service:
        issuer.install(service.runtime.state["jwks"])
        yield service, transport, issuer


def envelope(
    event_type: str, data: dict[str, Any], *, occurred_at: datetime, subject: str | None = None
) -> Envelope:
    version, _model = EVENT_SCHEMAS[event_type]
    return new_envelope(
        type=event_type,
        version=version,
        occurred_at=occurred_at,
        producer=event_type.split(".", 1)[0],
        subject=subject or str(uuid.uuid4()),
        data=dump_data(event_type, data),
        correlation_id=None,
        causation_id=None,
    )


async def deliver(
    transport: InMemoryTransport,
    event_type: str,
    data: dict[str, Any],
    *,
    occurred_at: datetime,
    subject: str | None = None,
) -> Envelope:
    """Publish one event to the audit consumer; raise if it was dead-lettered."""
    event = envelope(event_type, data, occurred_at=occurred_at, subject=subject)
    await transport.publish(event)
    if transport.dead_letters:
        raise AssertionError(f"event dead-lettered: {transport.dead_letters[-1].error}")
    return event


def sample_data(event_type: str, **overrides: Any) -> dict[str, Any]:
    """Build valid data for any registered event type from its schema, with overrides."""
    _version, model = EVENT_SCHEMAS[event_type]
    values = _sample_model(model)
    values.update(overrides)
    return values


# Fields whose schema carries a pattern or a meaning a generic value would break.
_FIELD_SAMPLES = {
    "currency": "EUR",
    "month": "2025-03",
    "email": "someone@example.org",
    "link": "https://wharf.example/verify?token=secret-token-value",
}


def _sample_model(model: type[BaseModel]) -> dict[str, Any]:
    values = {}
    for name, field in model.model_fields.items():
        if name in _FIELD_SAMPLES:
            values[name] = _FIELD_SAMPLES[name]
        else:
            values[name] = _sample_value(field.annotation)
    return values


def _sample_value(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return _sample_value(next(argument for argument in arguments if argument is not type(None)))
    if origin is typing.Literal:
        return next(argument for argument in arguments if argument is not None)
    if origin is typing.Annotated:
        return _sample_value(arguments[0])
    if origin is list:
        return [_sample_value(arguments[0])]
    if origin is dict or annotation is dict:
        return {}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _sample_model(annotation)
    if annotation is uuid.UUID:
        return str(uuid.uuid4())
    if annotation is bool:
        return False
    if annotation is int:
        return 1
    if annotation is float:
        return 7.5
    if annotation is str:
        return "sample"
    if annotation in (datetime, AwareDatetime):
        return "2025-03-10T12:00:00+00:00"
    raise TypeError(f"no sample for {annotation!r}")


def staff_user() -> TestUser:
    return TestUser(username="auditor", staff=("admin",))


def publisher(organisation_id: uuid.UUID, namespace: str, role: str = "owner") -> TestUser:
    return TestUser(username=f"{namespace}-{role}", orgs=((organisation_id, namespace, role),))
