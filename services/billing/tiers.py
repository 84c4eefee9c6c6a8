"""Published paid tiers, kept from catalog events, and their Stripe products and prices."""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events.envelope import Envelope
from shared.events.schemas import ProductPublished, ProductUnlisted
from services.billing.models import Price, Tier
from services.billing.providers import PaymentProvider

log = structlog.get_logger()

PAID_PERIODS = frozenset({"one_time", "monthly", "yearly"})


async def on_product_published(session: AsyncSession, envelope: Envelope, data: ProductPublished) -> None:
    """Store the product's paid tiers. A changed price becomes a new price row.

    A tier missing from a later publication is no longer sold. Catalog events of one
    product may arrive out of order, so an event older than the stored state is ignored.
    """
    now = envelope.occurred_at
    published_ids = set()

    for published in data.tiers:
        if published.billing_period not in PAID_PERIODS or published.price_amount <= 0:
            continue
        published_ids.add(published.tier_id)

        tier = await session.get(Tier, published.tier_id, with_for_update=True)
        if tier is not None and tier.updated_at > now:
            log.info("tier.update.stale", tier_id=str(tier.tier_id), event_id=str(envelope.id))
            continue

        if tier is None:
            tier = Tier(tier_id=published.tier_id, stripe_product_id=None)
            session.add(tier)
        tier.product_id = data.product_id
        tier.organisation_id = data.organisation_id
        tier.product_name = data.name
        tier.product_slug = data.slug
        tier.category = data.category
        tier.name = published.name
        tier.price_amount = published.price_amount
        tier.currency = published.currency.upper()
        tier.billing_period = published.billing_period
        tier.listed = True
        tier.updated_at = now
        await session.flush()

        await _keep_price_current(session, tier, now=now)

    await _unlist(session, data.product_id, keep=published_ids, now=now)


async def on_product_unlisted(session: AsyncSession, envelope: Envelope, data: ProductUnlisted) -> None:
    await _unlist(session, data.product_id, keep=set(), now=envelope.occurred_at)


async def _unlist(session: AsyncSession, product_id: uuid.UUID, *, keep: set[uuid.UUID], now) -> None:
    await session.execute(
        update(Tier)
        .where(Tier.product_id == product_id, Tier.tier_id.not_in(keep), Tier.updated_at <= now)
        .values(listed=False, updated_at=now)
    )


async def _keep_price_current(session: AsyncSession, tier: Tier, *, now) -> None:
    """Add a price row when amount, currency or period changed; old rows stay for subscribers."""
    current = await active_price(session, tier.tier_id)
    if current is not None and (current.amount, current.currency, current.billing_period) == (
        tier.price_amount,
        tier.currency,
        tier.billing_period,
    ):
        return

    if current is not None:
        current.active = False
        await session.flush()
    session.add(
        Price(
            id=uuid.uuid4(),
            tier_id=tier.tier_id,
            amount=tier.price_amount,
            currency=tier.currency,
            billing_period=tier.billing_period,
            active=True,
            stripe_price_id=None,
            created_at=now,
        )
    )
    await session.flush()
    log.info("price.changed", tier_id=str(tier.tier_id), amount=tier.price_amount, currency=tier.currency)


async def active_price(session: AsyncSession, tier_id: uuid.UUID) -> Price | None:
    return (
        await session.execute(select(Price).where(Price.tier_id == tier_id, Price.active.is_(True)))
    ).scalar_one_or_none()


async def ensure_stripe_price(session: AsyncSession, provider: PaymentProvider, tier: Tier, price: Price) -> str:
    """Create the tier's product and this price in the provider the first time they are sold."""
    if tier.stripe_product_id is None:
        tier.stripe_product_id = await provider.create_product(
            tier_id=tier.tier_id,
            name=f"{tier.product_name} ({tier.name})",
            metadata={
                "wharf_tier_id": str(tier.tier_id),
                "wharf_product_id": str(tier.product_id),
                "wharf_organisation_id": str(tier.organisation_id),
            },
        )
    if price.stripe_price_id is None:
        price.stripe_price_id = await provider.create_price(
            price_id=price.id,
            product=tier.stripe_product_id,
            amount=price.amount,
            currency=price.currency,
            billing_period=price.billing_period,
        )
    await session.flush()
    return price.stripe_price_id
