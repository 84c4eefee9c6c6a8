"""The events the catalog emits, built from its rows and written to the outbox."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import Product, ProductVersion, Tier
from shared.events import emit
from shared.events.schemas import (
    ProductPublished,
    ProductSubmitted,
    ProductUnlisted,
    ProductWithdrawn,
    PublishedTier,
    TierSource,
)


def store_repository(product: Product) -> str:
    """Return the registry repository customers pull from: store/<namespace>/<slug>."""
    return f"store/{product.namespace}/{product.slug}"


async def emit_submitted(
    session: AsyncSession,
    *,
    product: Product,
    version: ProductVersion,
    tiers: list[Tier],
    manifest: dict[str, Any],
    profile_complete: bool,
) -> None:
    data = ProductSubmitted(
        product_id=product.id,
        version_id=version.id,
        version=version.version,
        organisation_id=product.organisation_id,
        namespace=product.namespace,
        slug=product.slug,
        product_type=product.product_type,
        tiers=[
            TierSource(
                tier_id=tier.tier_id,
                name=tier.name,
                reference=tier.source_reference,
                price_amount=tier.price_amount,
                currency=tier.currency,
                billing_period=tier.billing_period,
            )
            for tier in tiers
        ],
        manifest=manifest,
        profile_complete=profile_complete,
    )
    await emit(session, "catalog.product.submitted", subject=str(product.id), data=data)


def published_tiers(version: ProductVersion, tiers: list[Tier]) -> list[PublishedTier]:
    """Describe each tier's access rule: paid tiers need a purchase; free tiers follow the product's policy."""
    policy = version.manifest.get("access_policy") or "everyone"
    licence_required = bool(version.manifest.get("licence_required"))
    result = []
    for tier in tiers:
        free = tier.billing_period == "free"
        result.append(
            PublishedTier(
                tier_id=tier.tier_id,
                name=tier.name,
                price_amount=tier.price_amount,
                currency=tier.currency,
                billing_period=tier.billing_period,
                access_policy=policy if free else "purchasers",
                # Buying a paid tier includes accepting its licence at checkout.
                licence_required=licence_required and free,
            )
        )
    return result


async def emit_published(
    session: AsyncSession, *, product: Product, version: ProductVersion, tiers: list[Tier], first: bool
) -> None:
    """Emit `catalog.version.published` for every published version, and also
    `catalog.product.published` when it is the product's first."""
    licence = version.manifest.get("licence") or {}
    data = ProductPublished(
        product_id=product.id,
        version_id=version.id,
        version=version.version,
        organisation_id=product.organisation_id,
        namespace=product.namespace,
        slug=product.slug,
        name=product.name,
        category=version.manifest.get("category") or "Other",
        product_type=product.product_type,
        store_repository=store_repository(product),
        licence_url=licence.get("url"),
        licence_version=licence.get("version"),
        tiers=published_tiers(version, tiers),
    )
    if first:
        await emit(session, "catalog.product.published", subject=str(product.id), data=data)
    await emit(session, "catalog.version.published", subject=str(product.id), data=data)


async def emit_unlisted(session: AsyncSession, product: Product) -> None:
    data = ProductUnlisted(product_id=product.id, organisation_id=product.organisation_id)
    await emit(session, "catalog.product.unlisted", subject=str(product.id), data=data)


async def emit_withdrawn(session: AsyncSession, product: Product, version: ProductVersion) -> None:
    data = ProductWithdrawn(product_id=product.id, version_id=version.id, organisation_id=product.organisation_id)
    await emit(session, "catalog.product.withdrawn", subject=str(product.id), data=data)
