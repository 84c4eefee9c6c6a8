"""Request and response bodies of the audit API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class ActivityEntry(BaseModel):
    """One row of the activity log."""

    seq: int = Field(description="Position in the hash chain, from 1 without gaps")
    event_id: uuid.UUID
    occurred_at: datetime
    recorded_at: datetime
    action: str = Field(description="The event type, for example licensing.image.pulled")
    producer: str
    subject: str
    correlation_id: str
    actor_id: uuid.UUID | None
    organisation_id: uuid.UUID | None
    product_id: uuid.UUID | None
    details: dict[str, Any]
    previous_hash: str
    hash: str


class BrokenLinkOut(BaseModel):
    seq: int
    event_id: uuid.UUID | None
    recorded_at: datetime | None
    reason: str
    expected: str | None
    found: str | None


class ChainVerification(BaseModel):
    valid: bool
    checked: int = Field(description="Rows whose links were checked before the first broken one")
    first_seq: int | None
    last_seq: int | None
    anchor: Literal["genesis", "previous_row", "retention_drop", "unanchored"] = Field(
        description="What the first row of the range was checked against"
    )
    recorded_from: datetime | None
    recorded_to: datetime | None
    first_broken: BrokenLinkOut | None


class ReportRequest(BaseModel):
    organisation_id: uuid.UUID
    month: str = Field(pattern=r"^\d{4}-\d{2}$", examples=["2025-03"], description="A past UTC month")


class ReportSummary(BaseModel):
    report_id: uuid.UUID
    organisation_id: uuid.UUID
    month: str
    revision: int = Field(description="1 for the first build; rebuilding on request increments it")
    generated_at: datetime


class ReportDetail(ReportSummary):
    content: dict[str, Any]


class PartitionOut(BaseModel):
    name: str
    month: str
    range_start: datetime
    range_end: datetime


class RetentionDropOut(BaseModel):
    partition: str
    range_start: datetime
    range_end: datetime
    rows: int
    first_seq: int | None
    last_seq: int | None
    last_hash: str | None
    dropped_at: datetime


class RetentionStatus(BaseModel):
    retention_days: int
    minimum_retention_days: int
    partitions: list[PartitionOut]
    drops: list[RetentionDropOut]


class RetentionRun(BaseModel):
    dropped: list[str]
    retention_days: int
