"""From review decision to live listing: approval, promotion of each tier's image, publication.

A version is published once it is approved and every tier's image has been promoted into
the store namespace. Approval and promotions arrive as separate events in any order, so
each of them records its part and then tries to publish.
"""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.events import emit_published
from services.catalog.lifecycle import move_product, move_version
from services.catalog.models import Product, ProductVersion, Tier
from services.catalog.search_index import publish_media, refresh_listing
from shared.events.schemas import ImagePromoted, ReviewDecided

log = structlog.get_logger()


async def record_decision(session: AsyncSession, decision: str, data: ReviewDecided) -> None:
    """Apply a moderation decision: "approve", "request_changes" or "reject"."""
    now = session.info["runtime"].clock.now()
    moved = await move_version(session, data.version_id, decision, state_reason=data.reason, decided_at=now)
    if not moved:
        state = await _version_state(session, data.version_id)
        log.warning("review.decision.ignored", version_id=str(data.version_id), decision=decision, state=state)
        return

    if decision != "approve":
        log.info("review.decided", version_id=str(data.version_id), decision=decision)
        return

    # The reviewed digests let a promotion be matched by digest as well as by source.
    for image in data.images:
        await session.execute(
            update(Tier)
            .where(Tier.version_id == data.version_id, Tier.tier_id == image.tier_id)
            .values(reviewed_digest=image.digest)
        )
    log.info("review.approved", version_id=str(data.version_id))
    await publish_if_ready(session, data.version_id)


async def record_promotion(session: AsyncSession, data: ImagePromoted) -> None:
    """Mark the tiers whose reviewed image was copied into the store namespace."""
    now = session.info["runtime"].clock.now()
    tiers = list((await session.execute(select(Tier).where(Tier.version_id == data.version_id))).scalars())
    matched = [
        tier
        for tier in tiers
        if tier.source_reference == data.source or (tier.reviewed_digest is not None and tier.reviewed_digest == data.digest)
    ]
    if not matched:
        # NOTE: a promotion that names neither a tier's source nor its reviewed digest is
        # dropped; the version then waits for a matching promotion.
        log.warning(
            "promotion.unmatched", version_id=str(data.version_id), source=data.source, digest=data.digest
        )
        return

    for tier in matched:
        tier.promoted_target = data.target
        tier.promoted_at = now
    await session.flush()
    await publish_if_ready(session, data.version_id)


async def publish_if_ready(session: AsyncSession, version_id: uuid.UUID) -> bool:
    """Publish an approved version whose tiers are all promoted; return whether it was published now."""
    tiers = list(
        (await session.execute(select(Tier).where(Tier.version_id == version_id).order_by(Tier.position))).scalars()
    )
    if not tiers or any(tier.promoted_at is None for tier in tiers):
        return False

    now = session.info["runtime"].clock.now()
    if not await move_version(session, version_id, "publish", published_at=now):
        return False

    version = await session.get(ProductVersion, version_id, populate_existing=True)
    product = await session.get(Product, version.product_id, with_for_update=True, populate_existing=True)
    product.live_version_id = version.id
    product.updated_at = now
    await session.flush()
    first = await move_product(session, product.id, "publish", first_published_at=now)

    await publish_media(session, product, version)
    await refresh_listing(session, product.id)
    await emit_published(session, product=product, version=version, tiers=tiers, first=first)
    log.info("version.published", product_id=str(product.id), version_id=str(version.id), first=first)
    return True


async def _version_state(session: AsyncSession, version_id: uuid.UUID) -> str | None:
    return (
        await session.execute(select(ProductVersion.state).where(ProductVersion.id == version_id))
    ).scalar_one_or_none()
