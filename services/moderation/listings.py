"""Read model of the live images of each listing, built from catalog's publication events.

On `catalog.product.published` or `catalog.version.published` the listing's live version
becomes the published one, and its images are the digests approved in that version's
review case. The SLA follows: cases whose finding the new version no longer has close,
and open Critical or Major findings of the new images start a clock.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import structlog
from sqlalchemy import case as case_
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.moderation import reviews, sla
from services.moderation.findings import blocking_findings
from services.moderation.models import ACTIVE_SLA_STATES, Listing, LiveImage, Promotion, SlaCase
from shared.events.schemas import ImagePromoted, ProductPublished, ProductUnlisted

log = structlog.get_logger()


async def record_promotion(session: AsyncSession, data: ImagePromoted, *, now: datetime) -> None:
    statement = insert(Promotion).values(
        version_id=data.version_id,
        image_digest=data.digest,
        product_id=data.product_id,
        source=data.source,
        target=data.target,
        promoted_at=now,
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["version_id", "image_digest"], set_={"target": statement.excluded.target}
        )
    )
    log.info("image.promoted", product_id=str(data.product_id), digest=data.digest, target=data.target)


async def record_publication(
    session: AsyncSession, data: ProductPublished, *, published_at: datetime, now: datetime
) -> Listing | None:
    """Make the published version live, then close and open SLA cases to match its images."""
    case = await reviews.approved_case_of_version(session, data.version_id)
    if case is None:
        # NOTE: a version published without an approval recorded here has unknown images,
        # so moderation does not watch it.
        log.warning("listing.unreviewed_version", product_id=str(data.product_id), version_id=str(data.version_id))
        return None

    review_round = await reviews.current_round(session, case)
    images = [image for image in await reviews.round_images(session, case, review_round) if image.scan is not None]

    statement = insert(Listing).values(
        product_id=data.product_id,
        organisation_id=data.organisation_id,
        namespace=data.namespace or case.namespace,
        slug=data.slug,
        product_type=data.product_type,
        live_version_id=data.version_id,
        published_at=published_at,
        state="live",
        updated_at=now,
    )
    excluded = statement.excluded
    # Publication events of two versions may arrive in either order: the newer one wins.
    upserted = await session.execute(
        statement.on_conflict_do_update(
            index_elements=["product_id"],
            set_={
                "live_version_id": excluded.live_version_id,
                "published_at": excluded.published_at,
                "namespace": excluded.namespace,
                "slug": excluded.slug,
                "product_type": excluded.product_type,
                "updated_at": excluded.updated_at,
                # Publishing again after an unlisting makes the listing live; a hold or a
                # revocation stays.
                "state": case_((Listing.state == "unlisted", "live"), else_=Listing.state),
            },
            where=Listing.published_at <= excluded.published_at,
        ).returning(Listing.product_id)
    )
    if upserted.first() is None:
        log.info("listing.stale_publication", product_id=str(data.product_id), version_id=str(data.version_id))
        return None

    promotions = await session.execute(select(Promotion).where(Promotion.version_id == data.version_id))
    targets = {promotion.image_digest: promotion.target for promotion in promotions.scalars()}
    await session.execute(delete(LiveImage).where(LiveImage.product_id == data.product_id))
    for image in images:
        await session.execute(
            insert(LiveImage)
            .values(
                product_id=data.product_id,
                image_digest=image.scan.digest,
                version_id=data.version_id,
                tier_id=image.tier_id,
                source=image.reference,
                promoted_target=targets.get(image.scan.digest),
            )
            .on_conflict_do_nothing()
        )
    log.info("listing.live", product_id=str(data.product_id), version_id=str(data.version_id), images=len(images))

    await _follow_new_version(session, data.product_id, data.version_id, [image.scan.digest for image in images], now=now)
    return await session.get(Listing, data.product_id, populate_existing=True)


async def _follow_new_version(
    session: AsyncSession, product_id: uuid.UUID, version_id: uuid.UUID, digests: list[str], *, now: datetime
) -> None:
    """Close the cases the new version fixes, move the others to its images, open new ones."""
    still_open = await blocking_findings(session, digests, now=now)
    cases = await session.execute(
        select(SlaCase).where(SlaCase.product_id == product_id, SlaCase.state.in_(ACTIVE_SLA_STATES))
    )
    for case in cases.scalars().all():
        same = [
            finding
            for finding in still_open
            if finding.vulnerability_id == case.vulnerability_id and finding.package == case.package
        ]
        if not same:
            await sla.close_cases(session, SlaCase.id == case.id, reason="fixed_version", now=now)
        elif case.image_digest not in {finding.image_digest for finding in same}:
            # The clock keeps running on the image that still carries the finding.
            case.image_digest = same[0].image_digest
            case.version_id = version_id
    await session.flush()
    await sla.open_cases_for_findings(session, still_open, now=now)


async def record_unlisting(session: AsyncSession, data: ProductUnlisted, *, now: datetime) -> None:
    """Stop watching a product the publisher took off the store: its SLA cases close."""
    result = await session.execute(
        update(Listing)
        .where(Listing.product_id == data.product_id, Listing.state.in_(sla.WATCHED_LISTING_STATES))
        .values(state="unlisted", held_at=None, hold_ends_at=None, hold_reason=None, updated_at=now)
    )
    if result.rowcount != 1:
        log.info("listing.unlisting_ignored", product_id=str(data.product_id))
        return
    await sla.close_cases(session, SlaCase.product_id == data.product_id, reason="unlisted", now=now)
    log.info("listing.unlisted", product_id=str(data.product_id))
