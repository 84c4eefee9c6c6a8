"""Promotion: copy an approved image by digest from staging into the store namespace.

On `moderation.review.approved` each reviewed image is copied from
`staging/<org>/<repo>` into `store/<org>/<product>` over the registry API: blobs by
cross-repository mount, then manifests by digest (every platform manifest of an index
before the index), then the version tag. The tag is read back and its digest compared.
Every step is safe to repeat, so a retried event finds the work done and emits nothing
twice.
"""

from __future__ import annotations

import json
import re
import uuid

import structlog
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import Envelope, InvalidEvent, emit
from shared.events.schemas import ImagePromoted, ReviewDecided, ReviewedImage
from services.licensing.models import PromotedImage
from services.licensing.policy import STAGING, STORE, parse_repository
from services.licensing.registry_client import (
    INDEX_MEDIA_TYPES,
    Manifest,
    RegistryClient,
    RegistryError,
)

log = structlog.get_logger()

_TAG_INVALID = re.compile(r"[^A-Za-z0-9_.-]")
# Layers the registry does not store (foreign layers) are fetched from their URLs instead.
_NON_DISTRIBUTABLE = ("foreign", "nondistributable")


async def on_review_approved(session: AsyncSession, envelope: Envelope, data: ReviewDecided) -> None:
    runtime = session.info["runtime"]
    if not data.images:
        log.warning("licensing.promotion.nothing_to_promote", product_id=str(data.product_id))
        return

    target = f"{STORE}/{data.namespace}/{data.slug}"
    parsed = parse_repository(target)
    if parsed is None:
        raise InvalidEvent(
            f"Review {data.case_id} names no valid store repository ({target!r}): "
            "it needs the organisation namespace and the product slug"
        )

    tags = plan_tags(data)
    client: RegistryClient = runtime.state["registry"]
    for image in data.images:
        source = source_repository(image, data.namespace)
        tag = tags[image.tier_id]
        copied = await copy_image(client, source, target, image.digest)
        await tag_image(client, source, target, copied[-1][0], tag)

        newly_promoted = await record_promotion(
            session, data, image, target, tag, copied, now=runtime.clock.now()
        )
        if newly_promoted:
            await emit(
                session,
                "licensing.image.promoted",
                subject=str(data.product_id),
                data=ImagePromoted(
                    product_id=data.product_id,
                    version_id=data.version_id,
                    organisation_id=data.organisation_id,
                    source=image.source,
                    target=f"{target}:{tag}",
                    digest=image.digest,
                ),
            )
        log.info(
            "licensing.image.promoted",
            product_id=str(data.product_id),
            source=image.source,
            target=f"{target}:{tag}",
            digest=image.digest,
            manifests=len(copied),
            already_done=not newly_promoted,
        )


def plan_tags(data: ReviewDecided) -> dict[uuid.UUID, str]:
    """Tag with the version; when tiers carry different images, add each source tag."""
    if not data.version:
        raise InvalidEvent(f"Review {data.case_id} has no version to tag the promoted image with")
    version = _TAG_INVALID.sub("-", data.version)[:100]
    if len({image.digest for image in data.images}) == 1:
        return {image.tier_id: version for image in data.images}

    tags = {}
    for image in data.images:
        _repository, _, source_tag = image.source.partition("@")[0].rpartition(":")
        suffix = source_tag if source_tag and "/" not in source_tag else str(image.tier_id)[:8]
        tags[image.tier_id] = f"{version}-{_TAG_INVALID.sub('-', suffix)}"[:128]
    return tags


def source_repository(image: ReviewedImage, namespace: str) -> str:
    """The staging repository of `staging/<org>/<repo>:<tag>`; it must be the publisher's."""
    repository = image.source.partition("@")[0]
    name, _, tag = repository.rpartition(":")
    if name and "/" not in tag:
        repository = name
    parsed = parse_repository(repository)
    if parsed is None or parsed.namespace_kind != STAGING or parsed.organisation != namespace:
        raise InvalidEvent(
            f"Reviewed image {image.source!r} is not in the publisher's staging namespace "
            f"{STAGING}/{namespace}/"
        )
    return repository


async def copy_image(
    client: RegistryClient, source: str, target: str, digest: str
) -> list[tuple[Manifest, str | None]]:
    """Copy a manifest, its blobs and, for an index, every platform manifest.

    Returns each copied manifest with the digest of its index (None at the top); the
    top-level manifest comes last.
    """
    headers = client.authorise(pull=[source], push=[target])
    return await _copy_manifest(client, source, target, digest, headers, parent=None)


async def _copy_manifest(
    client: RegistryClient,
    source: str,
    target: str,
    digest: str,
    headers: dict[str, str],
    *,
    parent: str | None,
) -> list[tuple[Manifest, str | None]]:
    manifest = await client.get_manifest(source, digest, headers)
    document = json.loads(manifest.body)
    media_type = manifest.media_type or document.get("mediaType", "")

    copied: list[tuple[Manifest, str | None]] = []
    if media_type in INDEX_MEDIA_TYPES:
        for child in document.get("manifests", []):
            copied += await _copy_manifest(client, source, target, child["digest"], headers, parent=digest)
    else:
        blobs = [document["config"], *document.get("layers", [])]
        for blob in blobs:
            if any(word in blob.get("mediaType", "") for word in _NON_DISTRIBUTABLE):
                continue
            if not await client.blob_exists(target, blob["digest"], headers):
                await client.mount_blob(target, blob["digest"], source, headers)

    stored = await client.put_manifest(target, digest, manifest, headers)
    if stored and stored != digest:
        raise RegistryError(f"The registry stored {target}@{digest} under digest {stored}")
    copied.append((manifest, parent))
    return copied


async def tag_image(client: RegistryClient, source: str, target: str, manifest: Manifest, tag: str) -> None:
    """Tag the top-level manifest and read the tag back to verify its digest."""
    headers = client.authorise(pull=[source], push=[target])
    stored = await client.put_manifest(target, tag, manifest, headers)
    if stored and stored != manifest.digest:
        raise RegistryError(f"Tagging {target}:{tag} stored digest {stored}, expected {manifest.digest}")

    check = await client.get_manifest(target, tag, headers)
    if check.digest != manifest.digest:
        raise RegistryError(
            f"{target}:{tag} resolves to {check.digest} after promotion, expected {manifest.digest}"
        )


async def record_promotion(
    session: AsyncSession,
    data: ReviewDecided,
    image: ReviewedImage,
    target: str,
    tag: str,
    copied: list[tuple[Manifest, str | None]],
    *,
    now,
) -> bool:
    """Store the promoted manifests; return whether the top-level one is new."""
    newly_promoted = False
    for manifest, parent in copied:
        is_top = parent is None
        inserted = await session.execute(
            insert(PromotedImage)
            .values(
                promoted_image_id=uuid.uuid4(),
                product_id=data.product_id,
                version_id=data.version_id,
                version=data.version,
                tier_id=image.tier_id,
                organisation_id=data.organisation_id,
                source=image.source,
                repository=target,
                tag=tag if is_top else None,
                digest=manifest.digest,
                media_type=manifest.media_type,
                parent_digest=parent,
                promoted_at=now,
            )
            .on_conflict_do_nothing(index_elements=["repository", "digest", "version_id"])
            .returning(PromotedImage.promoted_image_id)
        )
        if is_top and inserted.first() is not None:
            newly_promoted = True
    return newly_promoted
