"""Request and response bodies of the moderation API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

CaseState = Literal["awaiting_scans", "in_review", "changes_requested", "approved", "rejected", "withdrawn"]
SlaState = Literal["open", "breached", "closed", "revoked"]
Badge = Literal["certified_container", "certified_plugin"]


class ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# Review cases.


class CaseSummary(ReadModel):
    id: uuid.UUID
    product_id: uuid.UUID
    version_id: uuid.UUID
    version: str
    organisation_id: uuid.UUID
    namespace: str
    slug: str
    product_type: str
    state: CaseState
    current_round: int
    assignee_id: uuid.UUID | None
    opened_at: datetime
    updated_at: datetime
    decided_at: datetime | None
    has_critical_findings: bool = False


class ScanOut(ReadModel):
    scan_id: uuid.UUID
    status: Literal["completed", "failed"]
    digest: str | None
    failure_reason: str | None
    counts: dict[str, int]
    checks_passed: bool | None
    plugin_checks_passed: bool | None
    occurred_at: datetime


class RoundImageOut(BaseModel):
    tier_id: uuid.UUID
    name: str
    reference: str
    scan: ScanOut | None


class RoundOut(BaseModel):
    number: int
    submitted_at: datetime
    profile_complete: bool
    manifest: dict[str, Any]
    images: list[RoundImageOut]
    decision: str | None
    decided_at: datetime | None
    decided_by: uuid.UUID | None
    reason: str | None
    checklist: dict[str, Any] | None


class CaseDetail(CaseSummary):
    rounds: list[RoundOut]
    # Reasons the current round cannot be approved now; empty when it can be.
    blockers: list[dict[str, Any]]


class ChecklistFinding(BaseModel):
    image_digest: str = Field(min_length=1, max_length=100)
    vulnerability_id: str = Field(min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=2000)


class ChecklistManifestItem(BaseModel):
    field: str = Field(min_length=1, max_length=200, description="Manifest item, e.g. support.url")
    message: str = Field(min_length=1, max_length=2000)


class RequestChangesIn(BaseModel):
    reason: str | None = Field(default=None, max_length=5000)
    findings: list[ChecklistFinding] = Field(default_factory=list, max_length=500)
    manifest: list[ChecklistManifestItem] = Field(default_factory=list, max_length=200)

    @model_validator(mode="after")
    def _something_to_fix(self) -> RequestChangesIn:
        if not self.reason and not self.findings and not self.manifest:
            raise ValueError("a request for changes needs a reason, a finding to fix or a manifest item to correct")
        return self

    def checklist(self) -> dict[str, Any]:
        return {
            "findings": [item.model_dump() for item in self.findings],
            "manifest": [item.model_dump() for item in self.manifest],
        }


class ApproveIn(BaseModel):
    note: str | None = Field(default=None, max_length=5000)


class RejectIn(BaseModel):
    reason: str = Field(min_length=1, max_length=5000)


class AssignmentIn(BaseModel):
    # None unassigns the case.
    reviewer_id: uuid.UUID | None


class CommentIn(BaseModel):
    body: str = Field(min_length=1, max_length=10_000)


class CommentOut(ReadModel):
    id: uuid.UUID
    round_number: int
    author_id: uuid.UUID
    author_name: str
    author_role: Literal["staff", "publisher"]
    body: str
    created_at: datetime


# Findings, waivers and classes.


class WaiverIn(BaseModel):
    image_digest: str = Field(min_length=1, max_length=100)
    vulnerability_id: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=5000)
    # When the waiver ends; a finding still open then on a live image starts its SLA.
    expires_at: AwareDatetime | None = None


class SlaWaiverIn(BaseModel):
    reason: str = Field(min_length=1, max_length=5000)
    expires_at: AwareDatetime | None = None


class WaiverOut(ReadModel):
    id: uuid.UUID
    image_digest: str
    vulnerability_id: str
    reason: str
    waived_by: uuid.UUID
    created_at: datetime
    expires_at: datetime | None
    case_id: uuid.UUID | None
    sla_case_id: uuid.UUID | None


class ClassificationIn(BaseModel):
    finding_class: Literal["critical", "major", "minor"]
    reason: str = Field(min_length=1, max_length=5000)


class CaseClassificationIn(ClassificationIn):
    image_digest: str = Field(min_length=1, max_length=100)
    vulnerability_id: str = Field(min_length=1, max_length=200)


class FindingOut(ReadModel):
    image_digest: str
    vulnerability_id: str
    package: str
    installed_version: str
    fixed_version: str | None
    cvss_score: float | None
    aliases: list[str]
    finding_class: str
    staff_class: str | None
    effective_class: str
    state: Literal["open", "resolved"]
    detected_at: datetime
    resolved_at: datetime | None
    waived: bool = False
    # The latest waiver in force on this image and vulnerability. It explains to a publisher
    # why a finding no longer blocks, and until when.
    waiver: WaiverOut | None = None


# SLA cases.


class SlaCaseOut(ReadModel):
    id: uuid.UUID
    product_id: uuid.UUID
    organisation_id: uuid.UUID
    version_id: uuid.UUID
    image_digest: str
    vulnerability_id: str
    package: str
    finding_class: str
    state: SlaState
    opened_at: datetime
    deadline: datetime
    # Seconds until the deadline at the time of the request; negative once it passed.
    time_left_seconds: int | None = None
    breached_at: datetime | None
    closed_at: datetime | None
    close_reason: str | None


# Certification.


class CertificationRequestIn(BaseModel):
    product_id: uuid.UUID
    badge: Badge
    joint_support_attested: bool
    tested_platforms: list[str] = Field(
        max_length=50, description="Platforms the product was tested on, e.g. linux/amd64 with Docker 27"
    )


class GrantIn(BaseModel):
    note: str = Field(min_length=1, max_length=5000)


class WithdrawIn(BaseModel):
    reason: str = Field(min_length=1, max_length=5000)


class CertificationOut(ReadModel):
    id: uuid.UUID
    product_id: uuid.UUID
    organisation_id: uuid.UUID
    badge: Badge
    state: Literal["requested", "granted", "withdrawn"]
    requested_by: uuid.UUID
    requested_at: datetime
    joint_support_attested: bool
    tested_platforms: list[str]
    granted_by: uuid.UUID | None
    granted_at: datetime | None
    note: str | None
    withdrawn_at: datetime | None
    withdrawn_reason: str | None
