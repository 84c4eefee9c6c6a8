"""Events the catalog service consumes, by type.

Delivery is at least once and unordered across subjects, so every handler checks the
state it changes: a transition that no longer applies is logged and skipped.
"""

from __future__ import annotations

import re

import structlog
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog import publication
from services.catalog.lifecycle import move_product, move_version
from services.catalog.models import Badge, Entitlement, Product
from services.catalog.organisations import record_organisation
from services.catalog.search_index import add_pulls, refresh_listing
from shared.events import Envelope, Handler
from shared.events.schemas import (
    CertificationChanged,
    EntitlementChanged,
    ImagePromoted,
    ImagePulled,
    ListingHold,
    OrganisationCreated,
    ReviewDecided,
    ScanCompleted,
)

log = structlog.get_logger()

_STORE_REPOSITORY = re.compile(r"^store/(?P<namespace>[^/]+)/(?P<slug>[^/:@\s]+)\Z")


async def on_organisation_created(session: AsyncSession, envelope: Envelope, data: OrganisationCreated) -> None:
    await record_organisation(
        session, organisation_id=data.organisation_id, namespace=data.namespace, display_name=data.display_name
    )


async def on_scan_completed(session: AsyncSession, envelope: Envelope, data: ScanCompleted) -> None:
    # The first finished scan of a submitted version means its review has material to work on.
    if data.version_id is not None and await move_version(session, data.version_id, "start_review"):
        log.info("review.started", version_id=str(data.version_id), scan_id=str(data.scan_id))


async def on_review_approved(session: AsyncSession, envelope: Envelope, data: ReviewDecided) -> None:
    await publication.record_decision(session, "approve", data)


async def on_changes_requested(session: AsyncSession, envelope: Envelope, data: ReviewDecided) -> None:
    await publication.record_decision(session, "request_changes", data)


async def on_review_rejected(session: AsyncSession, envelope: Envelope, data: ReviewDecided) -> None:
    await publication.record_decision(session, "reject", data)


async def on_image_promoted(session: AsyncSession, envelope: Envelope, data: ImagePromoted) -> None:
    await publication.record_promotion(session, data)


async def on_listing_held(session: AsyncSession, envelope: Envelope, data: ListingHold) -> None:
    now = session.info["runtime"].clock.now()
    await _move_listing(session, data, "hold", hold_reason=data.reason, held_at=now)


async def on_hold_lifted(session: AsyncSession, envelope: Envelope, data: ListingHold) -> None:
    await _move_listing(session, data, "lift_hold", hold_reason=None, held_at=None)


async def on_listing_revoked(session: AsyncSession, envelope: Envelope, data: ListingHold) -> None:
    await _move_listing(session, data, "revoke", hold_reason=data.reason)


async def _move_listing(session: AsyncSession, data: ListingHold, transition: str, **values) -> None:
    if not await move_product(session, data.product_id, transition, **values):
        status = (
            await session.execute(select(Product.status).where(Product.id == data.product_id))
        ).scalar_one_or_none()
        log.warning("listing.transition.ignored", product_id=str(data.product_id), transition=transition, status=status)
        return
    await refresh_listing(session, data.product_id)
    log.info("listing.moved", product_id=str(data.product_id), transition=transition)


async def on_certification_granted(session: AsyncSession, envelope: Envelope, data: CertificationChanged) -> None:
    statement = insert(Badge).values(product_id=data.product_id, badge=data.badge, granted_at=envelope.occurred_at)
    await session.execute(statement.on_conflict_do_nothing(index_elements=["product_id", "badge"]))
    await refresh_listing(session, data.product_id)


async def on_certification_withdrawn(session: AsyncSession, envelope: Envelope, data: CertificationChanged) -> None:
    await session.execute(delete(Badge).where(Badge.product_id == data.product_id, Badge.badge == data.badge))
    await refresh_listing(session, data.product_id)


async def on_image_pulled(session: AsyncSession, envelope: Envelope, data: ImagePulled) -> None:
    product_id = data.product_id
    if product_id is None:
        # Older or anonymous pulls may only name the repository.
        match = _STORE_REPOSITORY.match(data.repository)
        if match is None:
            return
        product_id = (
            await session.execute(
                select(Product.id).where(Product.namespace == match["namespace"], Product.slug == match["slug"])
            )
        ).scalar_one_or_none()
    if product_id is None or not await add_pulls(session, product_id):
        log.info("pull.unknown_product", repository=data.repository)


async def on_entitlement_granted(session: AsyncSession, envelope: Envelope, data: EntitlementChanged) -> None:
    values = {
        "user_id": data.user_id,
        "product_id": data.product_id,
        "tier_id": data.tier_id,
        "valid_until": data.valid_until,
    }
    statement = insert(Entitlement).values(id=data.entitlement_id, revoked_at=None, **values)
    # A renewal grants the same entitlement again with a later end. A revocation already
    # recorded stays, because a grant that arrives after its revocation is stale.
    await session.execute(statement.on_conflict_do_update(index_elements=["id"], set_={"valid_until": data.valid_until}))


async def on_entitlement_revoked(session: AsyncSession, envelope: Envelope, data: EntitlementChanged) -> None:
    statement = insert(Entitlement).values(
        id=data.entitlement_id,
        user_id=data.user_id,
        product_id=data.product_id,
        tier_id=data.tier_id,
        valid_until=data.valid_until,
        revoked_at=envelope.occurred_at,
    )
    await session.execute(
        statement.on_conflict_do_update(index_elements=["id"], set_={"revoked_at": envelope.occurred_at})
    )


HANDLERS: dict[str, Handler] = {
    "identity.organisation.created": on_organisation_created,
    "scanning.scan.completed": on_scan_completed,
    "moderation.review.approved": on_review_approved,
    "moderation.review.changes_requested": on_changes_requested,
    "moderation.review.rejected": on_review_rejected,
    "licensing.image.promoted": on_image_promoted,
    "moderation.listing.held": on_listing_held,
    "moderation.hold.lifted": on_hold_lifted,
    "moderation.listing.revoked": on_listing_revoked,
    "moderation.certification.granted": on_certification_granted,
    "moderation.certification.withdrawn": on_certification_withdrawn,
    "licensing.image.pulled": on_image_pulled,
    "licensing.entitlement.granted": on_entitlement_granted,
    "licensing.entitlement.revoked": on_entitlement_revoked,
}
