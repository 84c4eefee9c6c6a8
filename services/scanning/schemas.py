"""Request and response bodies of the scanning API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from services.scanning.models import Scan, ScannedComponent, ScannedImage


class ScanRequest(BaseModel):
    reference: str = Field(
        min_length=1,
        max_length=512,
        description="Image reference in your staging namespace, e.g. staging/acme/app:1.0; "
        "without a host it names the store's registry",
        examples=["staging/acme/app:1.0"],
    )


class Failure(BaseModel):
    code: str
    reason: str


class LayerOut(BaseModel):
    index: int
    digest: str
    media_type: str
    size: int = Field(description="Compressed size in bytes")
    decompressed_size: int = Field(description="Uncompressed tar size in bytes")
    entries: int
    created_by: str


class CheckOut(BaseModel):
    id: str
    passed: bool
    level: str = Field(description="error, warning or info")
    detail: str
    suggestion: str


class OperatingSystem(BaseModel):
    id: str
    version: str
    name: str


class ScanWarning(BaseModel):
    """A package the scan had to change to store it, so the inventory differs from the image."""

    code: str = Field(description="package-truncated: fields were cut to their maximum length")
    detail: str
    package: str = Field(description="The package name as stored, after any cut")
    fields: list[str] = Field(description="Component fields that were cut, e.g. name, version")
    path: str = Field(description="File in the image the package was read from")
    layer_index: int
    layer_digest: str


class ImageOut(BaseModel):
    id: uuid.UUID = Field(description="Scanned image id; its findings are at /images/{id}/findings")
    digest: str
    platform: str
    os: OperatingSystem | None
    is_plugin: bool
    totals: dict[str, int]
    layers: list[LayerOut]
    checks: list[CheckOut]
    warnings: list[ScanWarning] = Field(
        default_factory=list, description="Packages stored differently from the image"
    )


class ScanSummary(BaseModel):
    """A scan without its images, as the scan list shows it."""

    id: uuid.UUID
    status: str = Field(description="queued, running, completed or failed")
    trigger: str = Field(description="submission, on_demand or upload")
    reference: str
    digest: str | None
    organisation_id: uuid.UUID
    product_id: uuid.UUID | None
    version_id: uuid.UUID | None
    tier_id: uuid.UUID | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    failure: Failure | None

    @classmethod
    def of(cls, scan: Scan) -> ScanSummary:
        failure = None
        if scan.failure_code:
            failure = Failure(code=scan.failure_code, reason=scan.failure_reason or "")
        return cls(
            id=scan.id,
            status=scan.status,
            trigger=scan.trigger,
            reference=scan.reference,
            digest=scan.digest,
            organisation_id=scan.organisation_id,
            product_id=scan.product_id,
            version_id=scan.version_id,
            tier_id=scan.tier_id,
            created_at=scan.created_at,
            started_at=scan.started_at,
            finished_at=scan.finished_at,
            failure=failure,
        )


class ScanPage(BaseModel):
    items: list[ScanSummary]
    next_cursor: str | None = None


class ScanOut(ScanSummary):
    images: list[ImageOut]

    @classmethod
    def of(cls, scan: Scan) -> ScanOut:
        summary = ScanSummary.of(scan)
        return cls(**dict(summary), images=[_image(image) for image in scan.images])


def _image(image: ScannedImage) -> ImageOut:
    os = None
    if image.os_id:
        os = OperatingSystem(id=image.os_id, version=image.os_version or "", name=image.os_name or "")
    return ImageOut(
        id=image.id,
        digest=image.digest,
        platform=image.platform,
        os=os,
        is_plugin=image.is_plugin,
        totals=image.totals,
        layers=[
            LayerOut(
                index=layer.index,
                digest=layer.digest,
                media_type=layer.media_type,
                size=layer.size,
                decompressed_size=layer.decompressed_size,
                entries=layer.entries,
                created_by=layer.created_by,
            )
            for layer in image.layers
        ],
        checks=[
            CheckOut(
                id=check.check_id,
                passed=check.passed,
                level=check.level,
                detail=check.detail,
                suggestion=check.suggestion,
            )
            for check in image.checks
        ],
        warnings=[ScanWarning(**warning) for warning in image.warnings or ()],
    )


class ComponentLayer(BaseModel):
    index: int
    digest: str
    created_by: str


class ComponentOut(BaseModel):
    id: uuid.UUID
    image_digest: str
    ecosystem: str
    name: str
    version: str
    match_name: str
    purl: str
    path: str
    layer: ComponentLayer
    source_name: str | None
    source_version: str | None
    licenses: list[str]

    @classmethod
    def of(cls, row: ScannedComponent, image_digest: str) -> ComponentOut:
        return cls(
            id=row.id,
            image_digest=image_digest,
            ecosystem=row.ecosystem,
            name=row.name,
            version=row.version,
            match_name=row.match_name,
            purl=row.purl,
            path=row.path,
            layer=ComponentLayer(
                index=row.layer_index, digest=row.layer_digest, created_by=row.layer_created_by
            ),
            source_name=row.source_name,
            source_version=row.source_version,
            licenses=list(row.licenses or ()),
        )


class ComponentPage(BaseModel):
    items: list[ComponentOut]
    next_cursor: str | None = None
