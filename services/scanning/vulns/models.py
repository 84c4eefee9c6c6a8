"""Tables of the vulnerability database, feed imports, findings and staff decisions."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from services.scanning.models import Base


class FeedImport(Base):
    """One import of one feed, with what it added, changed and withdrew."""

    __tablename__ = "vuln_feed_imports"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    feed: Mapped[str] = mapped_column(String(100), index=True)
    location: Mapped[str] = mapped_column(Text)
    # `Feed.fingerprint()` of the files read; None for a feed at a URL.
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    added: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    withdrawn: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    # The first skipped files with their reasons, as [{"file": ..., "reason": ...}].
    skipped_files: Mapped[list] = mapped_column(JSONB, default=list)
    # The (ecosystem, package) pairs whose advisories changed, as [[ecosystem, package]].
    changed_packages: Mapped[list] = mapped_column(JSONB, default=list)


class AdvisoryRecord(Base):
    """One OSV record as last imported."""

    __tablename__ = "vuln_records"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    feed: Mapped[str] = mapped_column(String(100), index=True)
    modified: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set from the record's own `withdrawn`, or at the import that no longer found it.
    withdrawn: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    removed_from_feed: Mapped[bool] = mapped_column(Boolean, default=False)
    aliases: Mapped[list[str]] = mapped_column(ARRAY(String(100)), default=list)
    # The alias group: the smallest id among the group's records and their aliases.
    group_key: Mapped[str] = mapped_column(String(100), index=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    cvss_score: Mapped[float | None] = mapped_column(Float)
    cvss_vector: Mapped[str | None] = mapped_column(Text)
    cvss_version: Mapped[str | None] = mapped_column(String(8))
    severity_text: Mapped[str | None] = mapped_column(String(50))
    references: Mapped[list] = mapped_column(JSONB, default=list)
    content_hash: Mapped[str] = mapped_column(String(64))
    raw: Mapped[dict] = mapped_column(JSONB)
    first_import_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vuln_feed_imports.id"))
    last_import_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("vuln_feed_imports.id"))


class AffectedEntry(Base):
    """One `affected` entry of a record, indexed by ecosystem and package for matching."""

    __tablename__ = "vuln_affected"
    __table_args__ = (Index("ix_vuln_affected_ecosystem_package", "ecosystem", "package"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(
        ForeignKey("vuln_records.id", ondelete="CASCADE"), index=True
    )
    ecosystem: Mapped[str] = mapped_column(String(100))  # e.g. "PyPI", "Debian:12"
    package: Mapped[str] = mapped_column(Text)  # normalised as `package_key` does
    ranges: Mapped[list] = mapped_column(JSONB, default=list)  # OSV `ranges`, unchanged
    versions: Mapped[list] = mapped_column(JSONB, default=list)
    severity: Mapped[list] = mapped_column(JSONB, default=list)


class AssessedImage(Base):
    """An image whose inventory is kept for continuous assessment."""

    __tablename__ = "vuln_assessed_images"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    organization_id: Mapped[uuid.UUID] = mapped_column(UUID, index=True)
    reference: Mapped[str] = mapped_column(Text)  # repository@digest
    distro_id: Mapped[str | None] = mapped_column(String(50))
    distro_version: Mapped[str | None] = mapped_column(String(50))
    assessed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AssessedPackage(Base):
    """One installed package of an assessed image, under the name advisories use."""

    __tablename__ = "vuln_assessed_packages"
    __table_args__ = (Index("ix_vuln_assessed_packages_ecosystem_package", "ecosystem", "package"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    image_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("vuln_assessed_images.id", ondelete="CASCADE"), index=True
    )
    ecosystem: Mapped[str] = mapped_column(String(100))  # OSV ecosystem with release
    package: Mapped[str] = mapped_column(Text)  # source package for distributions
    version: Mapped[str] = mapped_column(Text)  # source version for distributions
    component_name: Mapped[str] = mapped_column(Text)  # the name as installed
    component_version: Mapped[str] = mapped_column(Text)
    purl: Mapped[str] = mapped_column(Text, default="")
    layer_digest: Mapped[str] = mapped_column(String(100))
    layer_index: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(Text, default="")


class Finding(Base):
    """A vulnerability found in one package of one image, open or resolved."""

    __tablename__ = "vuln_findings"
    __table_args__ = (Index("ix_vuln_findings_image_status", "image_id", "status"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    image_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("vuln_assessed_images.id", ondelete="CASCADE")
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(UUID, index=True)
    vulnerability_id: Mapped[str] = mapped_column(String(100))
    aliases: Mapped[list[str]] = mapped_column(ARRAY(String(100)), default=list)
    matched_records: Mapped[list[str]] = mapped_column(ARRAY(String(100)), default=list)
    ecosystem: Mapped[str] = mapped_column(String(100))
    package: Mapped[str] = mapped_column(Text)
    installed_version: Mapped[str] = mapped_column(Text)
    component_name: Mapped[str] = mapped_column(Text)
    component_version: Mapped[str] = mapped_column(Text)
    layer_digest: Mapped[str] = mapped_column(String(100))
    layer_index: Mapped[int] = mapped_column(Integer)
    fixed_version: Mapped[str | None] = mapped_column(Text)
    cvss_score: Mapped[float | None] = mapped_column(Float)
    cvss_vector: Mapped[str | None] = mapped_column(Text)
    cvss_source: Mapped[str | None] = mapped_column(String(100))  # record that gave the score
    severity_text: Mapped[str | None] = mapped_column(String(50))
    cvss_class: Mapped[str] = mapped_column(String(20))
    staff_class: Mapped[str | None] = mapped_column(String(20))  # latest classification
    references: Mapped[list] = mapped_column(JSONB, default=list)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open or resolved
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class FindingClassification(Base):
    """A staff decision on the class of a finding; the latest one applies."""

    __tablename__ = "vuln_finding_classifications"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    finding_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("vuln_findings.id", ondelete="CASCADE"), index=True
    )
    finding_class: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    staff_id: Mapped[uuid.UUID] = mapped_column(UUID)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FindingWaiver(Base):
    """A staff waiver of a finding, optionally until an expiry time."""

    __tablename__ = "vuln_finding_waivers"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    finding_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("vuln_findings.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(30))  # not_affected or false_positive
    reason: Mapped[str] = mapped_column(Text)
    staff_id: Mapped[uuid.UUID] = mapped_column(UUID)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
