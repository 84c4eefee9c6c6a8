"""Tables of the moderation database.

Review cases and their rounds, scan results and findings as received from scanning,
waivers, the listings moderation watches, SLA cases and certifications. State columns
hold short lowercase words; transitions are conditional updates on them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import make_metadata

# SLA case states in which the clock runs or the listing is held for it.
ACTIVE_SLA_STATES = ("open", "breached")
# Certification states that block a second request for the same badge.
ACTIVE_CERTIFICATION_STATES = ("requested", "granted")


class Base(DeclarativeBase):
    metadata = make_metadata()


class ReviewCase(Base):
    """The review of one submitted product version, across all its rounds."""

    __tablename__ = "review_cases"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    product_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    version_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    version: Mapped[str] = mapped_column(String(100))
    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    namespace: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str] = mapped_column(String(100))
    product_type: Mapped[str] = mapped_column(String(20))
    # awaiting_scans, in_review, changes_requested, approved, rejected or withdrawn.
    state: Mapped[str] = mapped_column(String(30), index=True)
    current_round: Mapped[int] = mapped_column(Integer)
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ReviewRound(Base):
    """One submission of a case's version and the decision that ended it."""

    __tablename__ = "review_rounds"
    __table_args__ = (UniqueConstraint("case_id", "number", name="uq_review_rounds_case_id_number"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("review_cases.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    # When catalog emitted the submission; scans that finished before it belong to an
    # earlier round.
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    manifest: Mapped[dict[str, Any]] = mapped_column(JSONB)
    profile_complete: Mapped[bool] = mapped_column(Boolean)
    # [{"tier_id", "name", "reference"}] in the publisher's order.
    tiers: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    # approved, changes_requested or rejected; None while the round is open.
    decision: Mapped[str | None] = mapped_column(String(30))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    reason: Mapped[str | None] = mapped_column(Text)
    checklist: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class Scan(Base):
    """A finished or failed scan of one tier's image of a version, as scanning reported it."""

    __tablename__ = "scans"
    __table_args__ = (Index("ix_scans_version_id_tier_id", "version_id", "tier_id"),)

    scan_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    version_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    tier_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    reference: Mapped[str] = mapped_column(String(500))
    digest: Mapped[str | None] = mapped_column(String(100), index=True)
    # completed or failed.
    status: Mapped[str] = mapped_column(String(20))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    counts: Mapped[dict[str, int]] = mapped_column(JSONB)
    checks_passed: Mapped[bool | None] = mapped_column(Boolean)
    plugin_checks_passed: Mapped[bool | None] = mapped_column(Boolean)
    # Whether the event listed each finding, or only the counts per class.
    findings_itemised: Mapped[bool] = mapped_column(Boolean)
    # Digests of the platform images when `digest` is an index.
    platform_digests: Mapped[list[str]] = mapped_column(JSONB)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Finding(Base):
    """A vulnerability in a package of one image, open or resolved, with any staff class."""

    __tablename__ = "findings"

    image_digest: Mapped[str] = mapped_column(String(100), primary_key=True)
    vulnerability_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    package: Mapped[str] = mapped_column(String(300), primary_key=True)
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    installed_version: Mapped[str] = mapped_column(String(200))
    fixed_version: Mapped[str | None] = mapped_column(String(200))
    cvss_score: Mapped[float | None] = mapped_column(Float)
    aliases: Mapped[list[str]] = mapped_column(JSONB)
    # The class scanning reported; `staff_class` overrides it when set.
    finding_class: Mapped[str] = mapped_column(String(20))
    staff_class: Mapped[str | None] = mapped_column(String(20))
    staff_class_reason: Mapped[str | None] = mapped_column(Text)
    classified_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # open or resolved.
    state: Mapped[str] = mapped_column(String(20))
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Time of the newest event applied, so an older event arriving late changes nothing.
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    @property
    def effective_class(self) -> str:
        return self.staff_class or self.finding_class


class Waiver(Base):
    """Staff acceptance of a finding on one image, until `expires_at` if set."""

    __tablename__ = "waivers"
    __table_args__ = (Index("ix_waivers_image_digest_vulnerability_id", "image_digest", "vulnerability_id"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    image_digest: Mapped[str] = mapped_column(String(100))
    vulnerability_id: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    waived_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    case_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    sla_case_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # Set by the scheduler once an expired waiver has been turned into SLA cases.
    expiry_handled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Listing(Base):
    """A published product as moderation watches it: its live version and hold state."""

    __tablename__ = "listings"

    product_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    namespace: Mapped[str] = mapped_column(String(100))
    slug: Mapped[str] = mapped_column(String(100))
    product_type: Mapped[str] = mapped_column(String(20))
    live_version_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # live, held, revoked or unlisted.
    state: Mapped[str] = mapped_column(String(20), index=True)
    held_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    hold_ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    hold_reason: Mapped[str | None] = mapped_column(Text)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LiveImage(Base):
    """An image of a listing's live version, by the digest that was reviewed."""

    __tablename__ = "live_images"

    product_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("listings.product_id", ondelete="CASCADE"), primary_key=True
    )
    image_digest: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)
    version_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    tier_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    source: Mapped[str] = mapped_column(String(500))
    promoted_target: Mapped[str | None] = mapped_column(String(500))


class Promotion(Base):
    """An approved image that licensing copied into the store namespace."""

    __tablename__ = "promotions"

    version_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    image_digest: Mapped[str] = mapped_column(String(100), primary_key=True)
    product_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    source: Mapped[str] = mapped_column(String(500))
    target: Mapped[str] = mapped_column(String(500))
    promoted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SlaCase(Base):
    """The deadline to fix one Critical or Major finding on a published image."""

    __tablename__ = "sla_cases"
    __table_args__ = (
        # One running clock per finding of a listing: a repeated detection joins it.
        Index(
            "uq_sla_cases_active_finding",
            "product_id",
            "image_digest",
            "vulnerability_id",
            "package",
            unique=True,
            postgresql_where=text("state IN ('open', 'breached')"),
        ),
        Index("ix_sla_cases_state_deadline", "state", "deadline"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    product_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    version_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    image_digest: Mapped[str] = mapped_column(String(100))
    vulnerability_id: Mapped[str] = mapped_column(String(200))
    package: Mapped[str] = mapped_column(String(300))
    finding_class: Mapped[str] = mapped_column(String(20))
    # open, breached (the listing is held for it), closed or revoked.
    state: Mapped[str] = mapped_column(String(20))
    # The moment the publisher was notified: the clock starts here.
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deadline: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    breached_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # fixed_version, resolved, waived, reclassified, unlisted or revoked.
    close_reason: Mapped[str | None] = mapped_column(String(30))


class Certification(Base):
    """A publisher's request for a certification badge on a product, and its outcome."""

    __tablename__ = "certifications"
    __table_args__ = (
        Index(
            "uq_certifications_active_badge",
            "product_id",
            "badge",
            unique=True,
            postgresql_where=text("state IN ('requested', 'granted')"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    product_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    # certified_container or certified_plugin.
    badge: Mapped[str] = mapped_column(String(40))
    # requested, granted or withdrawn.
    state: Mapped[str] = mapped_column(String(20))
    requested_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    joint_support_attested: Mapped[bool] = mapped_column(Boolean)
    tested_platforms: Mapped[list[str]] = mapped_column(JSONB)
    granted_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    granted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)


class Comment(Base):
    """A message in a case's thread, from a reviewer or a member of the publisher."""

    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_case_id_created_at", "case_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("review_cases.id", ondelete="CASCADE"))
    round_number: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    author_name: Mapped[str] = mapped_column(String(200))
    # staff or publisher.
    author_role: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
