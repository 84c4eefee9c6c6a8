"""Request and response bodies of the vulnerability API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class FeedImportRequest(BaseModel):
    # Names of configured feeds to import; all configured feeds when omitted.
    feeds: list[str] | None = Field(default=None, min_length=1)


class FeedImportRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    feed: str
    location: str
    started_at: datetime
    finished_at: datetime | None
    added: int
    changed: int
    withdrawn: int
    unchanged: int
    skipped: int
    skipped_files: list[dict[str, str]]


class FeedImportResult(BaseModel):
    imports: list[FeedImportRead]
    images_changed: int


class ClassificationIn(BaseModel):
    finding_class: Literal["critical", "major", "minor"]
    reason: str = Field(min_length=1, max_length=2000)


class ClassificationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    finding_class: str
    reason: str
    staff_id: uuid.UUID
    created_at: datetime


class WaiverIn(BaseModel):
    kind: Literal["not_affected", "false_positive"]
    reason: str = Field(min_length=1, max_length=2000)
    expires_at: AwareDatetime | None = None


class WaiverRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    reason: str
    staff_id: uuid.UUID
    created_at: datetime
    expires_at: datetime | None


class FindingRead(BaseModel):
    id: uuid.UUID
    image_id: uuid.UUID
    vulnerability_id: str
    aliases: list[str]
    ecosystem: str
    package: str
    installed_version: str
    component_name: str
    component_version: str
    layer_digest: str
    layer_index: int
    fixed_version: str | None
    cvss_score: float | None
    cvss_vector: str | None
    cvss_source: str | None  # the record the score comes from
    severity_text: str | None
    finding_class: str  # the staff classification if any, else the score's class
    cvss_class: str
    status: str
    waived: bool
    waiver: WaiverRead | None = Field(
        default=None,
        description="The latest waiver in force, with its reason, expiry and the staff member "
        "who granted it; null when the finding is not waived",
    )
    detected_at: datetime
    resolved_at: datetime | None
    references: list[dict[str, str]]


class FindingDetail(FindingRead):
    classifications: list[ClassificationRead]
    waivers: list[WaiverRead]


class FindingSummaryRead(BaseModel):
    counts: dict[str, int]
    waived: int
    highest_score: float | None
    fixable: int
    fixes_available: bool
