"""Update checks: a Docker host sends the store images it runs and learns of newer versions.

A reference is `store/<org>/<product>:<tag>` or `...@sha256:<digest>`, optionally with the
registry host in front. Only published products are known. Any other reference gets the
status `unknown`, so the check reveals nothing about unpublished repositories.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Request
from packaging.version import InvalidVersion, Version
from pydantic import AfterValidator, BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import SessionDep
from shared.errors import problem_responses
from services.licensing.models import Product, ProductVersion, PromotedImage
from services.licensing.policy import listing_status

router = APIRouter(tags=["updates"])

MAX_IMAGES = 100
# `\Z` ends the pattern because `$` also matches before a final newline.
_DIGEST = re.compile(r"^[a-z0-9]+:[a-f0-9]{32,}\Z", re.ASCII)


def _valid_reference(reference: str) -> str:
    """Reject a reference with whitespace or control characters, or with an invalid digest."""
    if any(character.isspace() or not character.isprintable() for character in reference):
        raise ValueError(
            f"Image reference {reference[:300]!r} contains whitespace or a control character: "
            "send the reference alone, e.g. store/acme/db:1.2"
        )
    _, at, digest = reference.partition("@")
    if at and not _DIGEST.match(digest):
        raise ValueError(
            f"Image reference {reference[:300]!r} has an invalid digest {digest[:200]!r}: "
            "expected <algorithm>:<hex>, e.g. sha256: and 64 hexadecimal digits"
        )
    return reference


class UpdateCheckRequest(BaseModel):
    images: list[Annotated[str, AfterValidator(_valid_reference)]] = Field(
        min_length=1,
        max_length=MAX_IMAGES,
        description="Image references or digests the host runs, e.g. store/acme/db:1.2",
    )


class UpdateCheckResult(BaseModel):
    reference: str
    status: str  # known | unknown
    repository: str | None = None
    current_version: str | None = None
    latest_version: str | None = None
    newer_versions: list[str] = Field(default_factory=list)
    update_available: bool = False
    listing_status: str | None = None  # listed | held | revoked


class UpdateCheckResponse(BaseModel):
    results: list[UpdateCheckResult]


@router.post(
    "/updates/check",
    operation_id="licensing_check_updates",
    summary="List newer published versions of the images a host runs",
    response_model=UpdateCheckResponse,
    responses=problem_responses(422),
)
async def check_updates(request: Request, body: UpdateCheckRequest, session: SessionDep) -> UpdateCheckResponse:
    results = [await check_reference(session, reference) for reference in body.images]
    return UpdateCheckResponse(results=results)


def split_reference(reference: str) -> tuple[str, str | None, str | None]:
    """Split into (repository, tag, digest), dropping a registry host in front."""
    name, _, digest = reference.partition("@")
    tag = None
    last_slash = name.rfind("/")
    if ":" in name[last_slash + 1 :]:
        name, _, tag = name.rpartition(":")
    parts = name.split("/")
    if len(parts) > 3 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    return "/".join(parts), tag, digest or None


async def check_reference(session: AsyncSession, reference: str) -> UpdateCheckResult:
    repository, tag, digest = split_reference(reference)
    product = await session.scalar(select(Product).where(Product.store_repository == repository))
    if product is None or (digest is not None and not _DIGEST.match(digest)):
        return UpdateCheckResult(reference=reference, status="unknown")

    versions = list(
        (
            await session.scalars(
                select(ProductVersion).where(ProductVersion.product_id == product.product_id)
            )
        ).all()
    )
    versions.sort(key=_version_order)

    current = await _current_version(session, repository, tag, digest, versions)
    if current is None:
        newer = versions
    else:
        newer = [v for v in versions if _version_order(v) > _version_order(current)]

    latest = versions[-1].version if versions else product.current_version
    return UpdateCheckResult(
        reference=reference,
        status="known",
        repository=repository,
        current_version=current.version if current else None,
        latest_version=latest,
        newer_versions=[v.version for v in newer],
        update_available=bool(newer),
        listing_status=str(await listing_status(session, product.product_id)),
    )


async def _current_version(
    session: AsyncSession,
    repository: str,
    tag: str | None,
    digest: str | None,
    versions: list[ProductVersion],
) -> ProductVersion | None:
    if digest is not None:
        promoted = await session.scalar(
            select(PromotedImage)
            .where(PromotedImage.repository == repository, PromotedImage.digest == digest)
            .order_by(PromotedImage.promoted_at.desc())
            .limit(1)
        )
        if promoted is None:
            return None
        return next((v for v in versions if v.version_id == promoted.version_id), None)

    if tag is not None:
        promoted = await session.scalar(
            select(PromotedImage)
            .where(PromotedImage.repository == repository, PromotedImage.tag == tag)
            .order_by(PromotedImage.promoted_at.desc())
            .limit(1)
        )
        if promoted is not None:
            return next((v for v in versions if v.version_id == promoted.version_id), None)
        return next((v for v in versions if v.version == tag), None)
    return None


def _version_order(version: ProductVersion) -> tuple[int, object, datetime]:
    # Versions that follow PEP 440 or semantic versioning compare as versions; others
    # sort after them by publication time.
    try:
        return (0, Version(version.version), version.published_at)
    except InvalidVersion:
        return (1, version.published_at, version.published_at)
