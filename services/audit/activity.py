"""Recording events in the activity log: who acted, on which organisation and product."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.chain import row_hash
from services.audit.models import activity, chain_head
from services.audit.months import Month
from services.audit.partitions import ensure_partition
from shared.events.envelope import Envelope
from shared.events.schemas import EventData

log = structlog.get_logger()

# Fields that carry a signed link or a credential. They are replaced before the row is
# written, because the log is kept for months and shown to staff and publishers.
REDACTED_FIELDS = frozenset({"link", "token", "password", "secret"})
REDACTED = "[redacted]"

# Fields naming the acting user, tried in order. Events that declare `actor_id` use only
# that field, because their `user_id` is the member or staff user acted upon.
ACTOR_FIELDS = ("reviewer_id", "user_id", "owner_id")


def actor_of(data: EventData) -> uuid.UUID | None:
    fields = type(data).model_fields
    if "actor_id" in fields:
        return data.actor_id
    for name in ACTOR_FIELDS:
        if name in fields and getattr(data, name) is not None:
            return getattr(data, name)
    return None


def occurred_at_of(envelope: Envelope, data: EventData) -> datetime:
    # A pull is dated by the registry's own timestamp, not by when licensing relayed it.
    pulled_at = getattr(data, "pulled_at", None)
    return pulled_at if isinstance(pulled_at, datetime) else envelope.occurred_at


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: REDACTED if key in REDACTED_FIELDS else redact(item) for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def _optional_uuid(data: EventData, name: str) -> uuid.UUID | None:
    value = getattr(data, name, None)
    return value if isinstance(value, uuid.UUID) else None


async def record(session: AsyncSession, envelope: Envelope, data: EventData) -> dict[str, Any]:
    """Append one event to the log as the next link of the chain; return the row written.

    The organisation is the event's own `organisation_id`; an event without one (a user
    registering, a token revoked) is recorded with its actor only.
    """
    runtime = session.info["runtime"]
    entry = {
        "event_id": envelope.id,
        "action": envelope.type,
        "producer": envelope.producer,
        "subject": envelope.subject,
        "correlation_id": envelope.correlation_id,
        "occurred_at": occurred_at_of(envelope, data),
        "actor_id": actor_of(data),
        "organisation_id": _optional_uuid(data, "organisation_id"),
        "product_id": _optional_uuid(data, "product_id"),
        "details": redact(data.model_dump(mode="json")),
    }

    # Create the month's partition before taking the chain lock, so a slow DDL statement
    # never holds up other appends.
    now = runtime.clock.now()
    await ensure_partition(session, Month.containing(now))

    # The chain head row lock serialises appends across connections and replicas: each
    # append reads the last link and writes the next one before anyone else may.
    head = (
        await session.execute(select(chain_head).where(chain_head.c.id == 1).with_for_update())
    ).one()

    # Recording times never go backwards along the chain, even when replicas' clocks
    # differ, so every partition holds one contiguous stretch of the chain.
    recorded_at = now if head.recorded_at is None else max(now, head.recorded_at)
    if Month.containing(recorded_at) != Month.containing(now):
        await ensure_partition(session, Month.containing(recorded_at))

    entry["seq"] = head.seq + 1
    entry["recorded_at"] = recorded_at
    entry["previous_hash"] = head.hash
    entry["hash"] = row_hash(entry)

    await session.execute(activity.insert().values(**entry))
    await session.execute(
        update(chain_head)
        .where(chain_head.c.id == 1)
        .values(seq=entry["seq"], hash=entry["hash"], recorded_at=recorded_at)
    )
    log.debug("activity.recorded", seq=entry["seq"], event_id=str(envelope.id), action=envelope.type)
    return entry
