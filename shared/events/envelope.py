"""The envelope every domain event travels in."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Envelope(BaseModel):
    """One domain event: routing key `type`, payload `data` checked against its schema."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    type: str = Field(pattern=r"^[a-z]+\.[a-z_]+\.[a-z_]+$")
    version: int = Field(ge=1)
    occurred_at: AwareDatetime
    producer: str
    correlation_id: str
    causation_id: str | None = None
    subject: str = Field(min_length=1, max_length=200)
    data: dict[str, Any]

    @property
    def service(self) -> str:
        return self.type.split(".", 1)[0]


def new_envelope(
    *,
    type: str,
    version: int,
    occurred_at: datetime,
    producer: str,
    subject: str,
    data: dict[str, Any],
    correlation_id: str | None,
    causation_id: str | None,
) -> Envelope:
    event_id = uuid.uuid4()
    return Envelope(
        id=event_id,
        type=type,
        version=version,
        occurred_at=occurred_at,
        producer=producer,
        # An event with no request behind it (a timer, an import) starts its own chain.
        correlation_id=correlation_id or str(event_id),
        causation_id=causation_id,
        subject=subject,
        data=data,
    )
