"""Holding, lifting and revoking a listing when fix deadlines pass.

Each transition is a conditional update on the listing's state whose row count decides
whether this caller made it, so two scheduler replicas or a redelivered event emit each
of `listing.held`, `hold.lifted` and `listing.revoked` once.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.moderation import certification
from services.moderation.models import ACTIVE_SLA_STATES, Listing, SlaCase
from services.moderation.session_context import settings
from shared.events import emit
from shared.events.schemas import ListingHold

log = structlog.get_logger()


async def hold_listing(session: AsyncSession, product_id: uuid.UUID, *, reason: str, now: datetime) -> bool:
    """Hold a live listing for at most the configured number of days; return whether it moved."""
    hold_ends_at = now + timedelta(days=settings(session).hold_max_days)
    result = await session.execute(
        update(Listing)
        .where(Listing.product_id == product_id, Listing.state == "live")
        .values(state="held", held_at=now, hold_ends_at=hold_ends_at, hold_reason=reason, updated_at=now)
        .returning(Listing.organisation_id)
    )
    organisation_id = result.scalar_one_or_none()
    if organisation_id is None:
        return False

    await emit(
        session,
        "moderation.listing.held",
        subject=str(product_id),
        data=ListingHold(
            product_id=product_id, organisation_id=organisation_id, reason=reason, hold_ends_at=hold_ends_at
        ),
    )
    log.info("listing.held", product_id=str(product_id), hold_ends_at=hold_ends_at.isoformat())

    # A held listing no longer meets any certification's conditions.
    await certification.withdraw_for_product(session, product_id, reason=f"The listing is held: {reason}", now=now)
    return True


async def lift_hold_if_fixed(session: AsyncSession, product_id: uuid.UUID, *, now: datetime) -> bool:
    """Lift the hold once no breached SLA case of the product remains; return whether it moved."""
    breached = (
        await session.execute(
            select(func.count())
            .select_from(SlaCase)
            .where(SlaCase.product_id == product_id, SlaCase.state == "breached")
        )
    ).scalar_one()
    if breached:
        return False

    result = await session.execute(
        update(Listing)
        .where(Listing.product_id == product_id, Listing.state == "held")
        .values(state="live", held_at=None, hold_ends_at=None, hold_reason=None, updated_at=now)
        .returning(Listing.organisation_id)
    )
    organisation_id = result.scalar_one_or_none()
    if organisation_id is None:
        return False

    await emit(
        session,
        "moderation.hold.lifted",
        subject=str(product_id),
        data=ListingHold(
            product_id=product_id,
            organisation_id=organisation_id,
            reason="Every finding the listing was held for is fixed, resolved or waived",
        ),
    )
    log.info("listing.hold_lifted", product_id=str(product_id))
    return True


async def revoke_listing(session: AsyncSession, listing: Listing, *, now: datetime) -> bool:
    """Revoke a listing whose hold ran out; close its SLA cases; return whether it moved."""
    result = await session.execute(
        update(Listing)
        .where(Listing.product_id == listing.product_id, Listing.state == "held")
        .values(state="revoked", revoked_at=now, updated_at=now)
        .returning(Listing.hold_reason)
    )
    if result.first() is None:
        return False

    await session.execute(
        update(SlaCase)
        .where(SlaCase.product_id == listing.product_id, SlaCase.state.in_(ACTIVE_SLA_STATES))
        .values(state="revoked", closed_at=now, close_reason="revoked")
    )
    reason = (
        f"The listing was held from {listing.held_at.isoformat()} until {listing.hold_ends_at.isoformat()} "
        f"and the findings were not fixed: {listing.hold_reason}"
    )
    await emit(
        session,
        "moderation.listing.revoked",
        subject=str(listing.product_id),
        data=ListingHold(product_id=listing.product_id, organisation_id=listing.organisation_id, reason=reason),
    )
    log.info("listing.revoked", product_id=str(listing.product_id))
    return True
