"""Entitlements granted and revoked by billing's events, and the customer's list of them.

One entitlement row exists per purchase (`order:<id>`) or subscription
(`subscription:<id>`). Billing's events may arrive in any order, so a cancellation or a
refund that arrives first leaves a row that the later purchase event finds, and a
refunded purchase is never granted.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import structlog
from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import CurrentPrincipal
from shared.db import SessionDep
from shared.errors import problem_responses
from shared.events import Envelope, emit
from shared.events.schemas import CheckoutCompleted, EntitlementChanged, PaymentRefunded, SubscriptionChanged
from shared.pagination import Page, check_limit, finish_page, paginate
from services.licensing.models import Entitlement
from services.licensing.policy import ListingStatus, listing_status

log = structlog.get_logger()

router = APIRouter(tags=["entitlements"])

ACTIVE = "active"
CANCELED = "canceled"
REVOKED = "revoked"


class EntitlementRead(BaseModel):
    entitlement_id: uuid.UUID
    product_id: uuid.UUID
    tier_id: uuid.UUID
    organisation_id: uuid.UUID
    status: str
    valid_until: datetime | None
    granted_at: datetime | None
    revoked_at: datetime | None
    subscription_id: str | None


@router.get(
    "/entitlements",
    operation_id="licensing_list_entitlements",
    summary="List the signed-in customer's entitlements",
    response_model=Page[EntitlementRead],
    responses=problem_responses(400, 401),
)
async def list_entitlements(
    principal: CurrentPrincipal,
    session: SessionDep,
    cursor: str | None = None,
    limit: Annotated[int | None, Query(description="Page size, 1 to 200")] = None,
) -> Page[EntitlementRead]:
    limit = check_limit(limit)
    statement = select(Entitlement).where(
        Entitlement.user_id == principal.user_id, Entitlement.granted_at.is_not(None)
    )
    statement = paginate(
        statement,
        columns=[Entitlement.granted_at, Entitlement.entitlement_id],
        cursor=cursor,
        limit=limit,
    )
    rows = list((await session.scalars(statement)).all())
    kept, next_cursor = finish_page(rows, limit=limit, key=lambda e: (e.granted_at, e.entitlement_id))
    return Page(
        items=[EntitlementRead.model_validate(row, from_attributes=True) for row in kept],
        next_cursor=next_cursor,
    )


async def on_checkout_completed(session: AsyncSession, envelope: Envelope, data: CheckoutCompleted) -> None:
    if data.mode == "subscription" and data.subscription_id:
        source = f"subscription:{data.subscription_id}"
        valid_until = data.current_period_end
    else:
        source = f"order:{data.order_id}"
        valid_until = None

    if await _refunded_order(session, data.order_id):
        log.info("licensing.entitlement.refunded_before_grant", order_id=str(data.order_id))
        return

    await _grant(
        session,
        envelope,
        source=source,
        order_id=data.order_id,
        subscription_id=data.subscription_id,
        user_id=data.user_id,
        product_id=data.product_id,
        tier_id=data.tier_id,
        organisation_id=data.organisation_id,
        valid_until=valid_until,
        reason="purchased",
    )


async def on_subscription_started(
    session: AsyncSession, envelope: Envelope, data: SubscriptionChanged
) -> None:
    await _grant(
        session,
        envelope,
        source=f"subscription:{data.subscription_id}",
        order_id=None,
        subscription_id=data.subscription_id,
        user_id=data.user_id,
        product_id=data.product_id,
        tier_id=data.tier_id,
        organisation_id=data.organisation_id,
        valid_until=data.current_period_end,
        reason="subscribed",
    )


async def on_subscription_renewed(
    session: AsyncSession, envelope: Envelope, data: SubscriptionChanged
) -> None:
    await _grant(
        session,
        envelope,
        source=f"subscription:{data.subscription_id}",
        order_id=None,
        subscription_id=data.subscription_id,
        user_id=data.user_id,
        product_id=data.product_id,
        tier_id=data.tier_id,
        organisation_id=data.organisation_id,
        valid_until=data.current_period_end,
        reason="renewed",
    )


async def on_subscription_canceled(
    session: AsyncSession, envelope: Envelope, data: SubscriptionChanged
) -> None:
    """End a subscription's entitlement at the end of its paid period."""
    source = f"subscription:{data.subscription_id}"
    ends_at = data.current_period_end or envelope.occurred_at
    entitlement = await _by_source(session, source)

    if entitlement is None:
        # Cancelled before the start arrived: keep the end so the grant honours it.
        entitlement = _new_entitlement(
            source=source,
            order_id=None,
            subscription_id=data.subscription_id,
            user_id=data.user_id,
            product_id=data.product_id,
            tier_id=data.tier_id,
            organisation_id=data.organisation_id,
        )
        session.add(entitlement)
    elif entitlement.status == REVOKED:
        return

    entitlement.status = CANCELED
    entitlement.valid_until = ends_at
    entitlement.reason = "subscription_canceled"
    entitlement.updated_at = envelope.occurred_at
    await session.flush()

    if entitlement.granted_at is not None:
        await _emit_changed(session, "licensing.entitlement.revoked", entitlement)


async def on_payment_refunded(session: AsyncSession, envelope: Envelope, data: PaymentRefunded) -> None:
    """Revoke the purchase's entitlement at once on a full refund; keep it on a partial one."""
    if not data.full:
        log.info("licensing.entitlement.partial_refund_kept", order_id=str(data.order_id))
        return

    entitlement = await session.scalar(
        select(Entitlement).where(Entitlement.order_id == data.order_id).with_for_update()
    )
    if entitlement is None:
        # Refunded before the purchase event arrived: leave a revoked row it will find.
        entitlement = _new_entitlement(
            source=f"order:{data.order_id}",
            order_id=data.order_id,
            subscription_id=None,
            user_id=data.user_id,
            product_id=data.product_id,
            tier_id=data.tier_id,
            organisation_id=data.organisation_id,
        )
        session.add(entitlement)
    elif entitlement.status == REVOKED:
        return

    entitlement.status = REVOKED
    entitlement.revoked_at = envelope.occurred_at
    entitlement.valid_until = envelope.occurred_at
    entitlement.reason = "refunded"
    entitlement.updated_at = envelope.occurred_at
    await session.flush()

    if entitlement.granted_at is not None:
        await _emit_changed(session, "licensing.entitlement.revoked", entitlement)


async def _grant(
    session: AsyncSession,
    envelope: Envelope,
    *,
    source: str,
    order_id: uuid.UUID | None,
    subscription_id: str | None,
    user_id: uuid.UUID,
    product_id: uuid.UUID,
    tier_id: uuid.UUID,
    organisation_id: uuid.UUID,
    valid_until: datetime | None,
    reason: str,
) -> None:
    entitlement = await _by_source(session, source)
    if entitlement is not None and entitlement.status == REVOKED:
        return

    revoked_listing = await listing_status(session, product_id) == ListingStatus.REVOKED
    if entitlement is None or entitlement.granted_at is None:
        if revoked_listing:
            # A revoked listing takes no new customers; billing refunds such a purchase.
            log.warning(
                "licensing.entitlement.refused_revoked_listing",
                product_id=str(product_id),
                user_id=str(user_id),
                source=source,
            )
            return
        if entitlement is None:
            entitlement = _new_entitlement(
                source=source,
                order_id=order_id,
                subscription_id=subscription_id,
                user_id=user_id,
                product_id=product_id,
                tier_id=tier_id,
                organisation_id=organisation_id,
            )
            entitlement.status = ACTIVE
            entitlement.valid_until = valid_until
            session.add(entitlement)
        entitlement.granted_at = envelope.occurred_at
    elif revoked_listing:
        # The period that was paid for runs out; a revoked listing is not extended.
        return
    else:
        if reason == "renewed":
            # A renewal after a cancellation means the customer subscribed again.
            entitlement.status = ACTIVE
        if valid_until is not None and (
            entitlement.valid_until is None or valid_until > entitlement.valid_until
        ):
            entitlement.valid_until = valid_until

    entitlement.order_id = entitlement.order_id or order_id
    entitlement.reason = reason
    entitlement.updated_at = envelope.occurred_at
    await session.flush()
    await _emit_changed(session, "licensing.entitlement.granted", entitlement)


def _new_entitlement(**values) -> Entitlement:
    return Entitlement(entitlement_id=uuid.uuid4(), status=ACTIVE, **values)


async def _by_source(session: AsyncSession, source: str) -> Entitlement | None:
    return await session.scalar(
        select(Entitlement).where(Entitlement.source == source).with_for_update()
    )


async def _refunded_order(session: AsyncSession, order_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(Entitlement.entitlement_id).where(
            Entitlement.order_id == order_id, Entitlement.status == REVOKED
        )
    )
    return found is not None


async def _emit_changed(session: AsyncSession, event_type: str, entitlement: Entitlement) -> None:
    await emit(
        session,
        event_type,
        subject=str(entitlement.entitlement_id),
        data=EntitlementChanged(
            entitlement_id=entitlement.entitlement_id,
            user_id=entitlement.user_id,
            product_id=entitlement.product_id,
            tier_id=entitlement.tier_id,
            valid_until=entitlement.valid_until,
            reason=entitlement.reason,
        ),
    )
    log.info(
        event_type,
        entitlement_id=str(entitlement.entitlement_id),
        user_id=str(entitlement.user_id),
        product_id=str(entitlement.product_id),
        tier_id=str(entitlement.tier_id),
    )
