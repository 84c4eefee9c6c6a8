"""Read models built from other services' events: products, tiers, versions, listing
states and organisation memberships.

Events arrive at least once and in no fixed order across subjects, so every handler
compares the event's `occurred_at` with what it stored and a revocation is never undone.
"""

from __future__ import annotations

import structlog
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import Envelope, InvalidEvent
from shared.events.schemas import ListingHold, MembershipChanged, ProductPublished, TokenRevoked
from services.licensing.models import ListingState, Membership, Product, ProductVersion, Tier
from services.licensing.policy import STORE, ListingStatus, parse_repository

log = structlog.get_logger()


def store_repository_of(data: ProductPublished) -> str:
    repository = data.store_repository or f"{STORE}/{data.namespace}/{data.slug}"
    parsed = parse_repository(repository)
    if parsed is None or parsed.namespace_kind != STORE:
        raise InvalidEvent(
            f"Product {data.product_id} has no valid store repository ({repository!r}); "
            "expected store/<organisation namespace>/<product slug>"
        )
    return repository


async def on_product_published(session: AsyncSession, envelope: Envelope, data: ProductPublished) -> None:
    """Record a published product or version with its tiers, licence and store repository."""
    repository = store_repository_of(data)

    await session.execute(
        insert(ProductVersion)
        .values(
            version_id=data.version_id,
            product_id=data.product_id,
            version=data.version,
            published_at=envelope.occurred_at,
        )
        .on_conflict_do_nothing(index_elements=["version_id"])
    )

    product = await session.get(Product, data.product_id)
    if product is not None and product.published_at > envelope.occurred_at:
        log.info("licensing.product.stale_event_ignored", product_id=str(data.product_id))
        return

    if product is None:
        product = Product(product_id=data.product_id)
        session.add(product)
    product.organisation_id = data.organisation_id
    product.namespace = repository.split("/")[1]
    product.slug = data.slug
    product.name = data.name
    product.store_repository = repository
    product.licence_url = data.licence_url
    product.licence_version = data.licence_version
    product.current_version = data.version
    product.published_at = envelope.occurred_at
    await session.flush()

    # The event lists every tier, so the stored tiers are replaced as a whole.
    await session.execute(delete(Tier).where(Tier.product_id == data.product_id))
    for tier in data.tiers:
        session.add(
            Tier(
                tier_id=tier.tier_id,
                product_id=data.product_id,
                name=tier.name,
                access_policy=tier.access_policy,
                licence_required=tier.licence_required,
                billing_period=tier.billing_period,
                price_amount=tier.price_amount,
                currency=tier.currency,
            )
        )
    await session.flush()
    log.info(
        "licensing.product.published",
        product_id=str(data.product_id),
        version=data.version,
        repository=repository,
    )


async def on_listing_held(session: AsyncSession, envelope: Envelope, data: ListingHold) -> None:
    await _set_listing_state(session, envelope, data, ListingStatus.HELD)


async def on_hold_lifted(session: AsyncSession, envelope: Envelope, data: ListingHold) -> None:
    await _set_listing_state(session, envelope, data, ListingStatus.LISTED)


async def on_listing_revoked(session: AsyncSession, envelope: Envelope, data: ListingHold) -> None:
    await _set_listing_state(session, envelope, data, ListingStatus.REVOKED)


async def _set_listing_state(
    session: AsyncSession, envelope: Envelope, data: ListingHold, status: ListingStatus
) -> None:
    state = await session.get(ListingState, data.product_id, with_for_update=True)
    if state is None:
        session.add(
            ListingState(
                product_id=data.product_id,
                state=status,
                reason=data.reason,
                changed_at=envelope.occurred_at,
            )
        )
    elif state.state == ListingStatus.REVOKED:
        # A revocation is final; a late hold or lift must not reopen the listing.
        return
    elif status != ListingStatus.REVOKED and state.changed_at > envelope.occurred_at:
        return
    else:
        state.state = status
        state.reason = data.reason
        state.changed_at = envelope.occurred_at
    await session.flush()
    log.info("licensing.listing.state_changed", product_id=str(data.product_id), state=str(status))


async def on_membership_changed(session: AsyncSession, envelope: Envelope, data: MembershipChanged) -> None:
    stored = await session.get(Membership, (data.organisation_id, data.user_id), with_for_update=True)
    if stored is not None and stored.changed_at > envelope.occurred_at:
        return
    if stored is None:
        stored = Membership(organisation_id=data.organisation_id, user_id=data.user_id)
        session.add(stored)
    stored.namespace = data.namespace
    stored.role = data.role
    stored.changed_at = envelope.occurred_at
    await session.flush()

    # A cached credential check carries the old memberships; ask identity again.
    session.info["runtime"].state["credentials"].forget_user(data.user_id)


async def on_token_revoked(session: AsyncSession, envelope: Envelope, data: TokenRevoked) -> None:
    session.info["runtime"].state["credentials"].forget_user(data.user_id)


async def is_publisher_member(session: AsyncSession, user_id, organisation_id) -> bool:
    role = await session.scalar(
        select(Membership.role).where(
            Membership.organisation_id == organisation_id, Membership.user_id == user_id
        )
    )
    return role is not None
