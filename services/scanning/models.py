"""Tables of the scanning database.

A scan is one request to inventory one image reference. It yields one scanned image per
platform: one for a plain manifest, several for an index. Each image keeps its layers,
the components each layer introduced and its best-practice check results, so later feed
updates can re-match stored inventories without pulling again.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.db import make_metadata

JSON_DOCUMENT = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = make_metadata()


class ScanStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class ScanTrigger(StrEnum):
    SUBMISSION = "submission"  # a tier of a submitted product version
    ON_DEMAND = "on_demand"  # a publisher requested a scan of its staging repository
    UPLOAD = "upload"  # a publisher uploaded a `docker save` or OCI layout archive


class Scan(Base):
    __tablename__ = "scans"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    trigger: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=ScanStatus.QUEUED)
    # As requested, e.g. "registry:5000/staging/acme/app:1.0", or "upload:<file name>".
    reference: Mapped[str] = mapped_column(String(512))
    # Uploaded archive in the service's storage, deleted once scanned.
    archive_path: Mapped[str | None] = mapped_column(Text)
    # Manifest or index digest the reference resolved to when the scan was requested.
    digest: Mapped[str | None] = mapped_column(String(80))
    product_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    version_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    tier_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    product_type: Mapped[str] = mapped_column(String(20), default="image")
    requested_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # Carried into the scan's events, which are emitted later by the worker.
    correlation_id: Mapped[str | None] = mapped_column(String(100))
    failure_code: Mapped[str | None] = mapped_column(String(40))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A running scan whose lease has passed was abandoned by a stopped worker and is
    # claimed again.
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    images: Mapped[list[ScannedImage]] = relationship(
        back_populates="scan", order_by="ScannedImage.platform", cascade="all, delete-orphan"
    )

    __table_args__ = (
        Index("ix_scans_status_created", "status", "created_at"),
        Index("ix_scans_version_tier", "version_id", "tier_id"),
    )


class ScannedImage(Base):
    __tablename__ = "scanned_images"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    scan_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), index=True)
    digest: Mapped[str] = mapped_column(String(80), index=True)  # manifest digest
    platform: Mapped[str] = mapped_column(String(100))
    os_id: Mapped[str | None] = mapped_column(String(64))
    os_version: Mapped[str | None] = mapped_column(String(64))
    os_name: Mapped[str | None] = mapped_column(String(200))
    is_plugin: Mapped[bool] = mapped_column(Boolean, default=False)
    totals: Mapped[dict] = mapped_column(JSON_DOCUMENT, default=dict)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    # Packages stored differently from the image, such as names cut to their column, one
    # object each in the shape of `schemas.ScanWarning`.
    warnings: Mapped[list] = mapped_column(JSON_DOCUMENT, default=list)

    scan: Mapped[Scan] = relationship(back_populates="images")
    layers: Mapped[list[ScannedLayer]] = relationship(
        order_by="ScannedLayer.index", cascade="all, delete-orphan"
    )
    checks: Mapped[list[CheckResultRow]] = relationship(
        order_by="CheckResultRow.check_id", cascade="all, delete-orphan"
    )


class ScannedLayer(Base):
    __tablename__ = "scanned_layers"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    image_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("scanned_images.id", ondelete="CASCADE"), index=True
    )
    index: Mapped[int] = mapped_column(Integer)  # 0 is the bottom layer
    digest: Mapped[str] = mapped_column(String(80))
    media_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger)  # compressed bytes
    decompressed_size: Mapped[int] = mapped_column(BigInteger)
    entries: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(Text, default="")


class ScannedComponent(Base):
    __tablename__ = "scanned_components"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    image_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("scanned_images.id", ondelete="CASCADE"), index=True
    )
    ecosystem: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(300))
    version: Mapped[str] = mapped_column(String(200))
    match_name: Mapped[str] = mapped_column(String(300))
    purl: Mapped[str] = mapped_column(Text)
    path: Mapped[str] = mapped_column(Text)
    layer_index: Mapped[int] = mapped_column(Integer)
    layer_digest: Mapped[str] = mapped_column(String(80))
    layer_created_by: Mapped[str] = mapped_column(Text, default="")
    source_name: Mapped[str | None] = mapped_column(String(300))
    source_version: Mapped[str | None] = mapped_column(String(200))
    licenses: Mapped[list] = mapped_column(JSON_DOCUMENT, default=list)

    # Re-matching after a feed import looks components up by package.
    __table_args__ = (Index("ix_scanned_components_package", "ecosystem", "match_name"),)


class CheckResultRow(Base):
    __tablename__ = "check_results"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    image_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("scanned_images.id", ondelete="CASCADE"), index=True
    )
    check_id: Mapped[str] = mapped_column(String(60))
    passed: Mapped[bool] = mapped_column(Boolean)
    level: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(Text)
    suggestion: Mapped[str] = mapped_column(Text)
